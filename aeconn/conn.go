package aeconn

import (
	"io"
	"time"

	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
)

// Conn is one connection of a Loop, accepted or dialed. Its methods belong
// to its loop's goroutine (the callbacks run there); from elsewhere, Post
// to c.Loop().
type Conn[T any] struct {
	// Data is the program's own state for the conn, zero when it opens;
	// every callback reaches it as c.Data.
	Data T

	lp   *Loop[T]
	fd   int
	idx  int    // position in lp.conns
	in   []byte // unconsumed input, in a buffer of its own; nil when none
	out  []byte // output, out[sent:] unsent; nil when none (from lp.getOut)
	sent int
	last int64 // lp's clock when the conn last read or wrote a byte

	dialTimer int64

	accepted   bool // counted in the Server's clients
	connecting bool // Dial: not connected yet
	queued     bool // in lp.pending
	writing    bool // the write handler is installed
	paused     bool // Readable deregistered: output over SoftOutput
	closeAfter bool // close once the output is sent
	hup        bool // the peer's hang-up was reported: read to the end
	readAgain  bool // in lp.readAgain
	overLimit  bool // output passed HardOutput: close at the next chance
	closed     bool
	reason     error // given to OnClose by closeAfter
}

// Loop returns the loop the conn belongs to.
func (c *Conn[T]) Loop() *Loop[T] { return c.lp }

// Fd returns the conn's socket (a SOCKET handle on Windows), for socket
// options and addresses (package anet); reading, writing and closing it are
// the layer's.
func (c *Conn[T]) Fd() int { return c.fd }

// Closed reports whether the conn is closed.
func (c *Conn[T]) Closed() bool { return c.closed }

// Closing reports whether the conn is closed or will be once its output is
// sent (CloseAfterWrite): a handler that parses several requests of one
// OnData call stops there, as their replies would be dropped.
func (c *Conn[T]) Closing() bool { return c.closed || c.closeAfter }

// Unsent returns how many bytes of output wait to be sent.
func (c *Conn[T]) Unsent() int { return len(c.out) - c.sent }

// Buffered returns how many bytes of input are kept unconsumed, waiting
// for more (an incomplete request).
func (c *Conn[T]) Buffered() int { return len(c.in) }

// Memory returns what the conn's buffers hold, by capacity: kept input,
// output, and Handler.Footprint's part. Config.MaxMemory sums it.
func (c *Conn[T]) Memory() int {
	n := cap(c.in) + cap(c.out)
	if f := c.lp.s.h.Footprint; f != nil {
		n += f(c)
	}
	return n
}

// Full reports whether the unsent output is above Config.SoftOutput, at
// which point the conn's input is no longer read. A handler whose replies
// are large may stop consuming input when Full: OnData gets the rest again
// once the output has drained.
func (c *Conn[T]) Full() bool {
	soft := c.lp.s.cfg.SoftOutput
	return soft >= 0 && c.Unsent() > soft
}

// Write appends p to the conn's output, which goes out before the loop
// next polls, and returns len(p). It never blocks and never fails on a
// conn that is open; on a closed one it returns ErrClosed, and once the
// unsent output passed Config.HardOutput, ErrOutputLimit (the conn is then
// closed with it). After CloseAfterWrite, as in Redis after QUIT, output is
// dropped (ErrClosed). Output written before a Dial connects waits for the
// connection.
func (c *Conn[T]) Write(p []byte) (int, error) {
	if c.appendable(len(p)) {
		c.out = append(c.out, p...)
		return len(p), nil
	}
	if err := c.writable(len(p)); err != nil {
		return 0, err
	}
	c.out = append(c.out, p...)
	return len(p), nil
}

// WriteString is Write for a string.
func (c *Conn[T]) WriteString(s string) (int, error) {
	if c.appendable(len(s)) {
		c.out = append(c.out, s...)
		return len(s), nil
	}
	if err := c.writable(len(s)); err != nil {
		return 0, err
	}
	c.out = append(c.out, s...)
	return len(s), nil
}

// appendable is the common case of a write, decided without a call: the
// conn has an output buffer (so it is queued for the next flush, or its
// write handler is installed), room for n more bytes, no hard limit to check
// and no close pending.
func (c *Conn[T]) appendable(n int) bool {
	return c.out != nil && len(c.out)+n <= cap(c.out) && c.lp.hard == 0 && !c.closeAfter && !c.closed
}

// writable makes room for n more bytes of output, or says why not.
func (c *Conn[T]) writable(n int) error {
	switch {
	case c.closed || c.closeAfter:
		return ErrClosed
	case c.overLimit:
		return ErrOutputLimit
	}
	if hard := c.lp.hard; hard > 0 && c.Unsent()+n > hard {
		c.overLimit = true
		c.dropOut()
		c.queue() // closed in beforeSleep, or after the running callback
		return ErrOutputLimit
	}
	if c.out == nil {
		c.out = c.lp.getOut()
	} else if c.sent > 0 && len(c.out)+n > cap(c.out) {
		// Reuse the sent part before growing.
		m := copy(c.out, c.out[c.sent:])
		c.out, c.sent = c.out[:m], 0
	}
	c.queue()
	return nil
}

// queue puts c on the loop's list of conns to flush before the next poll.
func (c *Conn[T]) queue() {
	if !c.queued {
		c.queued = true
		c.lp.pending = append(c.lp.pending, c)
	}
}

// Close closes the conn now: unsent output is dropped. OnClose follows
// (with a nil error), at once, unless the conn was closed already.
func (c *Conn[T]) Close() { c.close(nil) }

// CloseAfterWrite closes the conn once its output is sent (QUIT's
// semantics): its input is no longer read or given to OnData, and later
// writes are dropped. OnClose gets a nil error.
func (c *Conn[T]) CloseAfterWrite() {
	if c.closed || c.closeAfter {
		return
	}
	c.closeAfter = true
	c.in = nil
	if !c.connecting {
		c.lp.l.DelEvent(c.fd, event.Readable)
	}
	c.queue() // closed in beforeSleep if nothing is left to send
}

// canRead reports whether c's input is wanted now.
func (c *Conn[T]) canRead() bool {
	return !c.closed && !c.paused && !c.closeAfter && !c.overLimit && !c.connecting
}

func readProc[T any](_ *aeloop.Loop, _ int, data any, mask event.Mask) {
	c := data.(*Conn[T])
	if mask&(event.Hangup|event.Error) != 0 {
		c.hup = true
	}
	if c.canRead() {
		c.readInput()
	}
}

// readInput reads what the socket has into the loop's buffer and hands it
// to OnData. Level-triggered, one read per event is enough: the next poll
// reports what is left. Edge-triggered, a read that filled the buffer may
// have left more, and no event will say so: the conn is queued for another
// read before the next poll; and once the peer's hang-up was reported, a
// short read is not the end: the loop reads until EAGAIN or end of stream,
// so a FIN that came with the data is never missed.
func (c *Conn[T]) readInput() {
	lp := c.lp
	for c.canRead() {
		n, err := anet.Read(c.fd, lp.buf)
		if err != nil {
			if err != anet.ErrWouldBlock {
				c.close(err)
			}
			return
		}
		if n == 0 {
			c.peerClosed()
			return
		}
		c.last = lp.now
		lp.nin += uint64(n)
		c.input(lp.buf[:n])
		if !lp.edge {
			return
		}
		if n == len(lp.buf) {
			if !c.readAgain && c.canRead() {
				c.readAgain = true
				lp.readAgain = append(lp.readAgain, c)
			}
			return
		}
		if !c.hup {
			return
		}
	}
}

// peerClosed handles the end of the peer's stream: what was read got its
// replies, which still go out (a client that shut only its write side gets
// them), then the conn closes with io.EOF.
func (c *Conn[T]) peerClosed() {
	if c.Unsent() == 0 {
		c.close(io.EOF)
		return
	}
	c.reason = io.EOF
	c.CloseAfterWrite()
}

// input hands data (in the loop's buffer) to OnData, after what was left
// unconsumed before, and keeps what OnData leaves in a buffer sized to it.
func (c *Conn[T]) input(data []byte) {
	onData := c.lp.s.h.OnData
	if len(c.in) == 0 {
		used := clampUsed(onData(c, data), len(data))
		if rest := data[used:]; len(rest) > 0 && c.canTakeInput() {
			c.in = append([]byte(nil), rest...)
		}
	} else {
		c.in = append(c.in, data...)
		c.consume(onData(c, c.in))
	}
	c.afterCallback()
}

// canTakeInput reports whether unconsumed input is worth keeping.
func (c *Conn[T]) canTakeInput() bool { return !c.closed && !c.closeAfter }

func clampUsed(used, n int) int { return max(0, min(used, n)) }

// consume drops what OnData consumed of c.in, keeping the rest in a buffer
// sized to it.
func (c *Conn[T]) consume(used int) {
	used = clampUsed(used, len(c.in))
	switch {
	case !c.canTakeInput() || used == len(c.in):
		c.in = nil
	case used > 0:
		c.in = append([]byte(nil), c.in[used:]...)
	}
}

// afterCallback applies the limits after the program ran on c: close on
// too much input or output, stop reading on too much unsent output.
func (c *Conn[T]) afterCallback() {
	switch {
	case c.closed:
	case c.overLimit:
		c.close(ErrOutputLimit)
	case len(c.in) > c.lp.s.cfg.MaxInput:
		c.close(ErrInputLimit)
	case c.Full() && !c.paused && !c.closeAfter && !c.connecting:
		c.paused = true
		c.lp.l.DelEvent(c.fd, event.Readable)
	}
}

func writeProc[T any](_ *aeloop.Loop, _ int, data any, _ event.Mask) {
	data.(*Conn[T]).flush()
}

// flush sends as much output as the socket takes, then applies what that
// allows: giving the buffer back, the close after write, resuming input.
func (c *Conn[T]) flush() {
	if c.overLimit {
		c.close(ErrOutputLimit)
		return
	}
	for c.sent < len(c.out) {
		n, err := anet.Write(c.fd, c.out[c.sent:])
		if err != nil {
			if err != anet.ErrWouldBlock {
				c.close(err)
				return
			}
			break
		}
		c.sent += n
		c.last = c.lp.now
		c.lp.nout += uint64(n)
	}
	if c.sent == len(c.out) {
		c.dropOut()
		if c.writing {
			c.writing = false
			c.lp.l.DelEvent(c.fd, event.Writable)
		}
		if c.closeAfter {
			c.close(c.reason)
			return
		}
	}
	if c.paused && !c.Full() {
		c.resume()
	}
}

// dropOut gives the output buffer back to the loop.
func (c *Conn[T]) dropOut() {
	if c.out != nil {
		c.lp.putOut(c.out)
		c.out, c.sent = nil, 0
	}
}

// resume reads input again after a pause: first what is kept, then the
// socket.
func (c *Conn[T]) resume() {
	c.paused = false
	if err := c.lp.l.AddEvent(c.fd, event.Readable, readProc[T], c); err != nil {
		c.close(err)
		return
	}
	if len(c.in) > 0 {
		c.consume(c.lp.s.h.OnData(c, c.in))
		c.afterCallback()
		if !c.canRead() {
			return
		}
	}
	if c.lp.edge && !c.readAgain {
		// Input that came during the pause made no new edge.
		c.readAgain = true
		c.lp.readAgain = append(c.lp.readAgain, c)
	}
}

// close closes the conn with err as the reason OnClose gets.
func (c *Conn[T]) close(err error) {
	if c.closed {
		return
	}
	c.closed = true
	lp := c.lp
	lp.l.DelEvent(c.fd, maskRW)
	anet.Close(c.fd)
	if c.dialTimer >= 0 && c.connecting {
		lp.l.DelTimer(c.dialTimer)
	}
	c.dialTimer = -1
	lp.remove(c)
	if c.accepted {
		lp.s.clients.Add(-1)
		lp.resumeAccept()
	}
	if h := lp.s.h.OnClose; h != nil {
		h(c, err) // Unsent and Buffered still tell what was lost
	}
	c.in = nil
	c.dropOut()
}

// Idle returns how long ago the conn last read or wrote a byte, by the
// loop's clock (read once per iteration).
func (c *Conn[T]) Idle() time.Duration { return time.Duration(c.lp.now - c.last) }
