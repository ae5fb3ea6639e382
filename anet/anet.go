package anet

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
)

// ListenOptions configures TCPServer and UnixServer. The zero value is a
// listener with Redis's backlog and no port sharing.
type ListenOptions struct {
	// Backlog is listen(2)'s backlog: how many completed connections the
	// kernel queues before Accept takes them. 0 (or less) means 511, Redis's
	// default (tcp-backlog). The kernel caps it silently (somaxconn).
	Backlog int
	// ReusePort sets SO_REUSEPORT (SO_REUSEPORT_LB on FreeBSD) before bind,
	// so several listeners, one per loop or thread, can share a port and
	// the kernel spreads new connections over them. See the package doc
	// for which kernels spread. TCPServer only; UnixServer ignores it.
	ReusePort bool
	// V6Only sets IPV6_V6ONLY on an IPv6 listener, so it does not also
	// accept IPv4 connections. false leaves the system default (see the
	// package doc). Ignored for IPv4 addresses and by UnixServer.
	V6Only bool
}

// DefaultBacklog is the backlog used when ListenOptions.Backlog is 0,
// Redis's default tcp-backlog.
const DefaultBacklog = 511

// ErrAddr is matched (errors.Is) by the error for an address anet cannot
// use: not "host:port", a host that is not an IP literal or "localhost", a
// port outside 0-65535, an empty or too long Unix socket path.
var ErrAddr = errors.New("anet: bad address")

// ErrWouldBlock is what Accept, Read and Write return when the call would
// have to wait: no connection pending, no data to read, no room in the
// send buffer. errors.Is matches it to the system's would-block errno:
// unix.EAGAIN (the same errno as unix.EWOULDBLOCK on every supported unix)
// and, on Windows, both windows.WSAEWOULDBLOCK and syscall.EAGAIN, so one
// check (err == ErrWouldBlock, or errors.Is(err, syscall.EAGAIN)) serves
// every OS. It is one preallocated value, compared with ==; returning it
// allocates nothing.
var ErrWouldBlock error = &wouldBlock{}

// wouldBlock is ErrWouldBlock's type.
type wouldBlock struct{}

func (*wouldBlock) Error() string { return "anet: would block: " + errWouldBlock.Error() }
func (*wouldBlock) Unwrap() error { return errWouldBlock }

// validFd reports whether fd can name a descriptor. The kernel takes fds as
// a C int, so a larger Go int would be truncated into some other fd; a
// Windows socket handle keeps 32 significant bits as well.
func validFd(fd int) bool { return fd >= 0 && fd <= math.MaxInt32 }

// sysErr wraps err, returned by the system call named call while doing
// what, as "anet: what: call: errno text"; nil stays nil.
func sysErr(what, call string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("anet: %s: %w", what, os.NewSyscallError(call, err))
}

// fdErr is sysErr for an operation on fd.
func fdErr(what string, fd int, call string, err error) error {
	if err == nil {
		return nil
	}
	return sysErr(what+" on fd "+strconv.Itoa(fd), call, err)
}

// TCPServer makes a TCP listener on addr ("host:port"; see the package doc
// for the accepted forms): a non-blocking socket that child processes do
// not inherit (close-on-exec on unix), bound and listening. An IPv6 host
// makes an IPv6 socket, anything else IPv4; an empty host listens on every
// IPv4 address. With port 0 the system picks a port, which Port reports.
//
// On unix the listener gets SO_REUSEADDR, so a restarted server can bind
// while old connections sit in TIME_WAIT. On Windows it gets
// SO_EXCLUSIVEADDRUSE instead: Windows lets a restarted server bind while
// old connections sit in TIME_WAIT without any option, and its
// SO_REUSEADDR would let another program bind the same port and take
// connections away. ListenOptions.ReusePort is refused there with an
// error matching errors.ErrUnsupported: Windows has no load-balanced port
// sharing. Windows makes an IPv6 socket IPv6-only by default.
//
// Errors match ErrAddr for an address that cannot be parsed, or the errno
// of the failing call (unix.EADDRINUSE, unix.EADDRNOTAVAIL, unix.EACCES...;
// windows.WSAEADDRINUSE, windows.WSAEACCES... on Windows).
func TCPServer(addr string, o ListenOptions) (int, error) {
	what := "listen tcp " + addr
	sa, family, err := parseTCP(addr, true)
	if err != nil {
		return -1, err
	}
	fd, err := newSocket(what, family)
	if err != nil {
		return -1, err
	}
	err = listenReuse(what, fd, o)
	if err == nil && o.V6Only && family == afInet6 {
		err = setIntOpt(fd, ipprotoV6, ipv6Only, 1, "IPV6_V6ONLY")
	}
	if err == nil {
		err = bindListen(what, fd, sa, o.Backlog)
	}
	if err != nil {
		closeFd(fd)
		return -1, err
	}
	return fd, nil
}

// listenBacklog is the backlog listen gets for ListenOptions.Backlog b:
// DefaultBacklog for 0 or less, at most what a C int holds.
func listenBacklog(b int) int {
	if b <= 0 {
		return DefaultBacklog
	}
	return min(b, math.MaxInt32)
}

// Accept takes one pending connection from the listener lfd and returns it
// as a non-blocking, close-on-exec fd. With none pending it returns
// ErrWouldBlock (errors.Is(err, unix.EAGAIN) also holds): call it until
// then each time the listener is readable. EINTR and ECONNABORTED (a
// client gave up before it was accepted) are retried inside.
//
// Out of fds, it fails with an error matching unix.EMFILE (process limit)
// or unix.ENFILE (system limit); the connection stays queued in the
// kernel, so it can be accepted once fds are freed. A level-triggered
// loop will keep reporting the listener readable meanwhile: stop watching
// it, or close connections, to avoid spinning.
//
// On Linux, Accept allocates nothing. Elsewhere it allocates what
// golang.org/x/sys/unix needs to decode the peer's address (which Accept
// then drops), a few small objects per connection.
func Accept(lfd int) (int, error) {
	fd, _, err := acceptLoop(lfd, false)
	return fd, err
}

// AcceptAddr is Accept that also returns the peer's address, as the kernel
// reported it to accept(2): a *unix.SockaddrInet4, *unix.SockaddrInet6 or
// *unix.SockaddrUnix (on Windows a *windows.SockaddrInet4 or
// *windows.SockaddrInet6). FormatAddr turns it into text.
func AcceptAddr(lfd int) (int, Sockaddr, error) {
	return acceptLoop(lfd, true)
}

// TCPConnect starts a non-blocking connect to addr ("host:port"; an empty
// host is 127.0.0.1) and returns the close-on-exec socket. The connection
// is usually still in progress: wait until the fd is writable, then
// SockError reports whether it succeeded (nil) or why not (an error
// matching unix.ECONNREFUSED, unix.ETIMEDOUT...). A failure the kernel
// reports at once (no route, no local port free) is returned as the error,
// and no fd is left open.
func TCPConnect(addr string) (int, error) {
	return TCPConnectFrom(addr, "")
}

// TCPConnectFrom is TCPConnect from a chosen local address: the socket gets
// SO_REUSEADDR and is bound to source ("host:port", port 0 for any port)
// before connecting, as Redis's anetTcpNonBlockBindConnect does for a
// replica's bind address. source "" does not bind. The two addresses must
// be of the same family, else the error matches ErrAddr.
func TCPConnectFrom(addr, source string) (int, error) {
	what := "connect tcp " + addr
	sa, family, err := parseTCP(addr, false)
	if err != nil {
		return -1, err
	}
	var local Sockaddr
	if source != "" {
		var lfamily int
		local, lfamily, err = parseTCP(source, true)
		if err != nil {
			return -1, err
		}
		if lfamily != family {
			return -1, fmt.Errorf("%w: source %q and destination %q are of different IP versions", ErrAddr, source, addr)
		}
	}
	return connect(what, family, sa, local)
}

// Read reads from the socket fd into p (read(2); recv on Windows).
//
// Read and Write are the calls a loop handler makes on its non-blocking
// sockets, with the same results on every OS:
//
//   - n > 0, nil: data was read or written (Write may take only part of p;
//     write the rest when the fd is writable again).
//   - 0, ErrWouldBlock: nothing to read, or no room to write; wait for the
//     loop's next event. Compare with ==.
//   - 0, nil from Read (with len(p) > 0): the peer closed its side (EOF).
//   - 0, another error: the connection failed; close it. The error is the
//     bare errno (syscall.Errno: unix.ECONNRESET, windows.WSAECONNRESET...),
//     not wrapped, so that Read and Write never allocate on their busy
//     paths.
//
// EINTR is retried inside. A len(p) of 0 returns 0, nil without a call.
// An fd that cannot be one (negative, above 32 bits) returns the EBADF of
// the OS (windows.WSAENOTSOCK on Windows).
func Read(fd int, p []byte) (int, error) { return sockCall(sysRead, fd, p) }

// Write writes p to the socket fd (write(2); send on Windows), as much of
// it as the send buffer takes. It returns what Read does, except that it
// has no end of stream: a closed peer shows as an error.
func Write(fd int, p []byte) (int, error) { return sockCall(sysWrite, fd, p) }

// sockCall is Read and Write around the system call sys.
func sockCall(sys func(int, []byte) (int, error), fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !validFd(fd) {
		return 0, errBadFd
	}
	for {
		n, err := sys(fd, p)
		if err == nil {
			return n, nil
		}
		if err == errIntr {
			continue
		}
		if err == errWouldBlock {
			return 0, ErrWouldBlock
		}
		return 0, err
	}
}
