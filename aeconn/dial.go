package aeconn

import (
	"fmt"
	"time"

	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
)

// Dial starts a non-blocking connect to address and returns its conn at
// once, with Data set to data; call it on the loop's goroutine (from
// elsewhere, Server.Dial). network is "tcp", "tcp4" or "tcp6" with a
// "host:port" address (an IP literal or "localhost": no name is looked up;
// see anet.Resolve) or "unix" with a path.
//
// The conn may be written to at once: its output goes out once it is
// connected. When it connects, OnOpen runs, then OnData as for any conn.
// When it cannot connect within timeout (0: the kernel's own limit),
// OnClose gets the reason (ErrDialTimeout, or the errno, such as
// ECONNREFUSED) and OnOpen never runs. Errors the kernel reports at once
// are returned, and then no conn is made and no callback runs.
func (lp *Loop[T]) Dial(network, address string, timeout time.Duration, data T) (*Conn[T], error) {
	if lp.closing {
		return nil, ErrClosed
	}
	var fd int
	var err error
	tcp := true
	switch network {
	case "tcp", "tcp4", "tcp6":
		fd, err = anet.TCPConnect(address)
	case "unix":
		tcp = false
		fd, err = anet.UnixConnect(address)
	default:
		return nil, fmt.Errorf("%w: %q", ErrNetwork, network)
	}
	if err != nil {
		return nil, err
	}
	if tcp && !lp.s.cfg.KeepNagle {
		anet.TCPNoDelay(fd, true)
	}
	c := &Conn[T]{Data: data, lp: lp, fd: fd, last: lp.now, connecting: true, dialTimer: -1}
	if err := lp.fit(fd); err != nil {
		anet.Close(fd)
		return nil, err
	}
	if err := lp.l.AddEvent(fd, event.Writable, connectProc[T], c); err != nil {
		anet.Close(fd)
		return nil, err
	}
	if timeout > 0 {
		c.dialTimer, err = lp.l.AddTimer(timeout, dialTimeoutProc[T], c, nil)
		if err != nil {
			lp.l.DelEvent(fd, maskRW)
			anet.Close(fd)
			return nil, err
		}
	}
	lp.add(c)
	return c, nil
}

func dialTimeoutProc[T any](_ *aeloop.Loop, _ int64, data any) time.Duration {
	c := data.(*Conn[T])
	c.dialTimer = -1
	if c.connecting {
		c.close(ErrDialTimeout)
	}
	return aeloop.NoMore
}

// connectProc runs when a dialing fd is writable: connected, or failed.
func connectProc[T any](l *aeloop.Loop, fd int, data any, mask event.Mask) {
	c := data.(*Conn[T])
	if err := anet.SockError(fd); err != nil {
		c.close(err)
		return
	}
	if mask&event.Error != 0 {
		// The poller saw the connect fail, but SO_ERROR was read by someone
		// else (libkqueue reads it to build its event): the socket is not
		// connected, which is all that is left to say.
		_, err := anet.PeerAddr(fd)
		c.close(fmt.Errorf("aeconn: connect failed (SO_ERROR already cleared): %w", err))
		return
	}
	c.connecting = false
	if c.dialTimer >= 0 {
		l.DelTimer(c.dialTimer)
		c.dialTimer = -1
	}
	l.DelEvent(fd, event.Writable)
	lp := c.lp
	if err := lp.l.AddEvent(fd, event.Readable, readProc[T], c); err != nil {
		c.close(err)
		return
	}
	if c.closeAfter {
		lp.l.DelEvent(fd, event.Readable)
	}
	c.last = lp.now
	if h := lp.s.h.OnOpen; h != nil {
		h(c)
	}
	if c.closed {
		return
	}
	if c.out != nil || c.closeAfter {
		c.queue()
	}
	c.afterCallback()
}
