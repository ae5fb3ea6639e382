//go:build unix

package anet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// NetConn hands a connected socket from the loop to Go's net package: it
// returns a net.Conn (a *net.TCPConn or *net.UnixConn) for the connection
// on fd, served by Go's runtime poller, so a goroutine can take it over,
// e.g. to run crypto/tls on it. The Conn becomes the connection's only
// owner: on success fd is closed, and closing the Conn closes the
// connection. Remove fd from the loop (DelEvent of everything) before: the
// kernel's registration belongs to the connection, not to the fd number,
// and would outlive the fd. On failure fd is left as it was: not a socket
// fails with an error matching unix.ENOTSOCK, a bad fd with unix.EBADF.
func NetConn(fd int) (net.Conn, error) {
	var c net.Conn
	err := toNet("net.Conn", fd, func(f *os.File) (err error) {
		c, err = net.FileConn(f)
		return err
	})
	return c, err
}

// NetListener is NetConn for a listening socket (from TCPServer or
// UnixServer): the returned net.Listener (*net.TCPListener or
// *net.UnixListener) owns it, and fd is closed. Closing a *net.UnixListener
// made this way does not remove the socket file.
func NetListener(fd int) (net.Listener, error) {
	var ln net.Listener
	err := toNet("net.Listener", fd, func(f *os.File) (err error) {
		ln, err = net.FileListener(f)
		return err
	})
	return ln, err
}

// toNet runs mk, net.FileConn or net.FileListener, on a duplicate of fd,
// and closes fd if mk succeeded. The duplicate keeps fd untouched when mk
// fails (an *os.File would close fd when collected).
func toNet(what string, fd int, mk func(*os.File) error) error {
	dup, err := dupCloexec(fd)
	if err != nil {
		return fdErr(what, fd, "fcntl", err)
	}
	f := os.NewFile(uintptr(dup), "anet-fd-"+strconv.Itoa(fd))
	err = mk(f) // makes a duplicate of its own on success
	f.Close()
	if err != nil {
		var se *os.SyscallError
		if errors.As(err, &se) { // ENOTSOCK and the like, without net's wrapping
			return fdErr(what, fd, se.Syscall, se.Err)
		}
		return fmt.Errorf("anet: %s on fd %d: %w", what, fd, err)
	}
	unix.Close(fd)
	return nil
}

// FromNet takes a connection or listener from Go's net package for a loop:
// it returns a new non-blocking, close-on-exec fd for the socket behind c
// (a *net.TCPConn, *net.UnixConn, *net.TCPListener, *net.UnixListener, or
// anything else with a SyscallConn method and an fd behind it) and then
// closes c, so the fd is the socket's only owner. The connection itself is
// not shut down, and a *net.UnixListener's socket file is kept. Call it
// when no goroutine uses c any more: reads and writes in flight would
// fail. A value without an fd (a *tls.Conn, a net.Pipe end) fails with an
// error matching errors.ErrUnsupported, a closed one with net.ErrClosed;
// c is not closed then.
func FromNet(c io.Closer) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("anet: take %T from net: no file descriptor behind it: %w", c, errors.ErrUnsupported)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("anet: take %T from net: %w", c, err)
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(s uintptr) { fd, derr = dupCloexec(int(s)) }); err != nil {
		return -1, fmt.Errorf("anet: take %T from net: %w", c, err)
	}
	if derr != nil {
		return -1, sysErr(fmt.Sprintf("take %T from net", c), "fcntl", derr)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, fdErr("O_NONBLOCK", fd, "fcntl", err)
	}
	if ul, ok := c.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false)
	}
	c.Close() // the socket lives on in fd
	return fd, nil
}

// dupCloexec duplicates fd with close-on-exec set atomically.
func dupCloexec(fd int) (int, error) {
	if !validFd(fd) {
		return -1, unix.EBADF
	}
	for {
		nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != unix.EINTR {
			return nfd, err
		}
	}
}
