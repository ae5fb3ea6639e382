package main

import (
	"fmt"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/anet"
	"github.com/aemux/mux/event"
)

// pair makes the two fds a round trip goes through, read end first, and
// names them: a loopback TCP connection (Windows has no pollable pipe).
func pair() ([2]int, string, error) {
	fds := [2]int{-1, -1}
	lfd, err := anet.TCPServer("127.0.0.1:0", anet.ListenOptions{})
	if err != nil {
		return fds, "", err
	}
	defer anet.Close(lfd)
	addr, err := anet.LocalAddr(lfd)
	if err == nil {
		fds[1], err = anet.TCPConnect(addr)
	}
	if err == nil {
		err = waitFor(lfd, event.Readable)
	}
	if err == nil {
		fds[0], err = anet.Accept(lfd)
	}
	if err == nil {
		err = waitFor(fds[1], event.Writable)
	}
	if err == nil {
		err = anet.SockError(fds[1])
	}
	if err == nil {
		err = anet.TCPNoDelay(fds[1], true)
	}
	if err != nil {
		for _, fd := range fds {
			if fd >= 0 {
				anet.Close(fd)
			}
		}
		return fds, "", err
	}
	return fds, "loopback TCP", nil
}

// waitFor waits up to 5 s for fd to be ready for mask.
func waitFor(fd int, mask event.Mask) error {
	ready, err := mux.WaitFd(fd, mask, 5*time.Second)
	if err == nil && ready == event.None {
		err = fmt.Errorf("fd %d not ready for %v within 5 s", fd, mask)
	}
	return err
}
