//go:build unix

package anet

import "golang.org/x/sys/unix"

// Pending returns how many bytes are waiting to be read on fd (wrk's
// sock_readable), with the FIONREAD ioctl: SIOCINQ, its Linux name, on
// Linux; FIONREAD on macOS and the BSDs. For a TCP or Unix stream socket
// that is the data in its receive buffer; pipes and terminals answer too.
// A client that read a full buffer can ask whether another read would find
// more, instead of making it and getting EAGAIN. Linux fails with an error
// matching unix.EINVAL for a listening socket; a bad fd fails with one
// matching unix.EBADF.
func Pending(fd int) (int, error) {
	var err error = unix.EBADF
	if validFd(fd) {
		var n int
		if n, err = unix.IoctlGetInt(fd, fionread); err == nil {
			return n, nil
		}
	}
	return 0, fdErr("pending bytes", fd, "ioctl "+fionreadName, err)
}
