//go:build unix

package anet

import "golang.org/x/sys/unix"

// Sockaddr is a socket address as the system package decodes it:
// unix.Sockaddr here (*unix.SockaddrInet4, *unix.SockaddrInet6,
// *unix.SockaddrUnix), windows.Sockaddr on Windows. AcceptAddr returns one
// and FormatAddr writes one, with the same signatures on every OS.
type Sockaddr = unix.Sockaddr

// The address types and numbers the OS-neutral code builds sockaddrs and
// sets options with.
type (
	sockaddrInet4 = unix.SockaddrInet4
	sockaddrInet6 = unix.SockaddrInet6
)

const (
	afInet     = unix.AF_INET
	afInet6    = unix.AF_INET6
	solSocket  = unix.SOL_SOCKET
	ipprotoTCP = unix.IPPROTO_TCP
	tcpNoDelay = unix.TCP_NODELAY
	soSndBuf   = unix.SO_SNDBUF
	soRcvBuf   = unix.SO_RCVBUF
	ipprotoV6  = unix.IPPROTO_IPV6
	ipv6Only   = unix.IPV6_V6ONLY
)

// The errnos the OS-neutral code reports.
var (
	errWouldBlock  error = unix.EAGAIN
	errBadFd       error = unix.EBADF
	errInval       error = unix.EINVAL
	errAfNoSupport error = unix.EAFNOSUPPORT
	errTimedOut    error = unix.ETIMEDOUT
)

func getsockname(fd int) (Sockaddr, error) { return unix.Getsockname(fd) }
func getpeername(fd int) (Sockaddr, error) { return unix.Getpeername(fd) }

// Close closes fd (close(2); closesocket on Windows). It is there so that
// a handler closes its connections the same way on every OS; unix.Close
// does the same here.
func Close(fd int) error {
	if !validFd(fd) {
		return fdErr("close", fd, "close", errBadFd)
	}
	return fdErr("close", fd, "close", unix.Close(fd))
}

// sockErrno reads and clears fd's pending error (SO_ERROR): nil when there
// is none, else the errno, unwrapped. err is getsockopt's own failure.
func sockErrno(fd int) (pending, err error) {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil || v == 0 {
		return nil, err
	}
	return unix.Errno(v), nil
}

// errIntr is the errno of an interrupted call, which Read and Write retry.
var errIntr error = unix.EINTR

// closeFd closes an fd anet made and gives up on, ignoring the error.
func closeFd(fd int) { unix.Close(fd) }
