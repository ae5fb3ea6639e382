// Package fdmodel keeps real socketpairs and pipes next to a model of what
// the kernel reports for them, for the fuzz targets that compare aemux's
// backends with a reference (mux's FuzzPollers, aeloop's FuzzLoop): the
// targets create, write, drain, shut down and close fds through a Set, and
// ask each End what a poll must say about it.
//
// The model covers what those targets do: AF_UNIX stream socketpairs and
// pipes, writes far below the buffer sizes, shutdown(SHUT_WR), close. Every
// fd is non-blocking and close-on-exec (package internal/fdtest).
package fdmodel

import (
	"fmt"

	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

// MaxBuffered bounds what a target lets pile up unread on one end: far
// below any socket or pipe buffer, so writes never block or short-write.
const MaxBuffered = 4096

// End is one fd and the model of its state.
type End struct {
	Num  int
	Kind byte // 's' socketpair end, 'r' pipe read end, 'w' pipe write end
	Peer *End
	Open bool
	// Buffered counts the bytes waiting to be read on this end.
	Buffered int
	// RdShut: nothing more will arrive (the peer shut down writing or
	// closed). WrShut: this end shut down writing, or its socket peer
	// closed.
	RdShut, WrShut bool
}

// Ready is what poll(2) reports for the end, as aemux maps it: Readable
// for data or end of file, Writable for room, and a hang-up (POLLHUP) or
// an error (POLLERR, a pipe whose reader closed) as Readable|Writable.
func (e *End) Ready() event.Mask {
	peerGone := !e.Peer.Open
	switch e.Kind {
	case 's':
		m := event.Writable // writes stay far below the socket buffer
		if e.Buffered > 0 || e.RdShut {
			m |= event.Readable
		}
		return m
	case 'r':
		if peerGone {
			return event.IO // POLLHUP
		}
		if e.Buffered > 0 {
			return event.Readable
		}
		return event.None
	}
	if peerGone { // 'w'
		return event.IO // POLLERR
	}
	return event.Writable
}

// CanWrite reports whether a target may write to the end: it is a writing
// end, open, not shut down, its peer is open and has not too much unread.
func (e *End) CanWrite() bool {
	return e.Open && e.Kind != 'r' && !e.WrShut && e.Peer.Open && e.Peer.Buffered <= MaxBuffered
}

// Set is every End a target made, open or closed, in creation order.
type Set struct {
	Ends []*End
}

// Socketpair adds a connected AF_UNIX stream socketpair.
func (s *Set) Socketpair() error {
	a, b, err := fdtest.Socketpair()
	if err != nil {
		return err
	}
	s.add(&End{Num: a, Kind: 's'}, &End{Num: b, Kind: 's'})
	return nil
}

// Pipe adds a pipe: its read end, then its write end. The model is a unix
// pipe's; on Windows fdtest.Pipe is a TCP connection, which the model does
// not describe.
func (s *Set) Pipe() error {
	r, w, err := fdtest.Pipe()
	if err != nil {
		return err
	}
	s.add(&End{Num: r, Kind: 'r'}, &End{Num: w, Kind: 'w'})
	return nil
}

func (s *Set) add(x, y *End) {
	x.Open, y.Open = true, true
	x.Peer, y.Peer = y, x
	s.Ends = append(s.Ends, x, y)
}

// Live returns the open ends, in creation order.
func (s *Set) Live() []*End {
	var open []*End
	for _, e := range s.Ends {
		if e.Open {
			open = append(open, e)
		}
	}
	return open
}

// Pick returns the open end number a (modulo their count), or nil when
// none is open: how a script's argument names an fd.
func (s *Set) Pick(a int) *End {
	open := s.Live()
	if len(open) == 0 {
		return nil
	}
	return open[a%len(open)]
}

// Lookup returns the open end numbered fd, or nil.
func (s *Set) Lookup(fd int) *End {
	for _, e := range s.Ends {
		if e.Open && e.Num == fd {
			return e
		}
	}
	return nil
}

// ClosedNumber returns the number of a closed end that no open end has
// taken back, or -1.
func (s *Set) ClosedNumber() int {
	for _, e := range s.Ends {
		if !e.Open && s.Lookup(e.Num) == nil {
			return e.Num
		}
	}
	return -1
}

// Write writes n bytes to e, which must satisfy CanWrite.
func (s *Set) Write(e *End, n int) error {
	if k, err := fdtest.Write(e.Num, make([]byte, n)); k != n || err != nil {
		return fmt.Errorf("write %d bytes to fd %d: %d, %v", n, e.Num, k, err)
	}
	e.Peer.Buffered += n
	return nil
}

// Drain reads everything buffered on e.
func (s *Set) Drain(e *End) error {
	buf := make([]byte, 8192)
	for e.Buffered > 0 {
		k, err := fdtest.Read(e.Num, buf)
		if k <= 0 || err != nil {
			return fmt.Errorf("read fd %d with %d bytes buffered: %d, %v", e.Num, e.Buffered, k, err)
		}
		e.Buffered -= k
	}
	return nil
}

// Shutdown shuts down writing on the socket end e.
func (s *Set) Shutdown(e *End) error {
	if err := fdtest.Shutdown(e.Num); err != nil {
		return fmt.Errorf("shutdown fd %d: %w", e.Num, err)
	}
	e.WrShut, e.Peer.RdShut = true, true
	return nil
}

// Close closes e. Its peer sees end of file; a socket peer also a hang-up
// both ways.
func (s *Set) Close(e *End) {
	fdtest.Close(e.Num)
	e.Open, e.Buffered = false, 0
	e.Peer.RdShut = true
	if e.Peer.Kind == 's' {
		e.Peer.WrShut = true
	}
}

// CloseAll closes every end still open.
func (s *Set) CloseAll() {
	for _, e := range s.Ends {
		if e.Open {
			s.Close(e)
		}
	}
}
