//go:build unix && !linux

package main

import "golang.org/x/sys/unix"

// sysRead and sysWrite are read(2) and write(2) on the clients' sockets.
// Outside Linux they go through x/sys/unix as usual: macOS and OpenBSD
// allow system calls only through libc.
func sysRead(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

func sysWrite(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

// lowerTimerSlack does nothing: timer slack is a Linux setting.
func lowerTimerSlack() {}
