//go:build unix && !linux

package anet

import "golang.org/x/sys/unix"

// sysRead and sysWrite are read(2) and write(2) through x/sys/unix: macOS
// and OpenBSD allow system calls only through libc.
func sysRead(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

func sysWrite(fd int, p []byte) (int, error) { return unix.Write(fd, p) }
