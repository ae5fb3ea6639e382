//go:build unix

package fdtest

import (
	"errors"

	"golang.org/x/sys/unix"
)

// The I/O calls tests make on the fds they watch, under the same names on
// every OS (fdtest_windows.go has the Winsock ones), so that a test is
// written once: read(2), write(2), shutdown(SHUT_WR) and close(2), with the
// kernel's errors as they are.

// Read reads into p: EAGAIN when nothing is there, (0, nil) at end of file.
func Read(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

// Write writes p: EAGAIN when the fd is full.
func Write(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

// WouldBlock reports whether err says that the call would have blocked.
func WouldBlock(err error) bool { return errors.Is(err, unix.EAGAIN) }

// Shutdown shuts the sending side of the socket fd down: the peer reads
// end of file.
func Shutdown(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }

// Close closes fd.
func Close(fd int) error { return unix.Close(fd) }
