package anet

import (
	"math"
	"time"
)

// TCPNoDelay sets (on) or clears TCP_NODELAY on a TCP socket: with it,
// small writes go out at once instead of waiting for Nagle's algorithm to
// coalesce them.
func TCPNoDelay(fd int, on bool) error {
	return setIntOpt(fd, ipprotoTCP, tcpNoDelay, boolInt(on), "TCP_NODELAY")
}

// SendBuffer sets the socket's send buffer size, SO_SNDBUF, to n bytes.
// The kernel may round it (Linux doubles it for its bookkeeping) and caps
// it (net.core.wmem_max, kern.ipc.maxsockbuf). An n that is negative or
// does not fit a C int fails with an error matching unix.EINVAL.
func SendBuffer(fd, n int) error {
	return setBuffer(fd, soSndBuf, n, "SO_SNDBUF")
}

// RecvBuffer sets the socket's receive buffer size, SO_RCVBUF, to n bytes,
// as SendBuffer does for sending.
func RecvBuffer(fd, n int) error {
	return setBuffer(fd, soRcvBuf, n, "SO_RCVBUF")
}

// setBuffer sets a buffer size option, refusing sizes the kernel's C int
// cannot hold or would read as huge (Linux takes a negative size as
// unsigned, that is as "as large as allowed").
func setBuffer(fd, opt, n int, name string) error {
	if validFd(fd) && (n < 0 || n > math.MaxInt32) {
		return fdErr(name, fd, "setsockopt", errInval)
	}
	return setIntOpt(fd, solSocket, opt, n, name)
}

// SockError returns the error pending on fd (SO_ERROR), clearing it: nil,
// or an error matching the errno, such as unix.ECONNREFUSED
// (windows.WSAECONNREFUSED on Windows) for a TCPConnect to a port nobody
// listens on. Call it once a connecting fd is writable. Like anetGetError,
// but with the errno kept.
func SockError(fd int) error {
	var err error = errBadFd
	if validFd(fd) {
		var pending error
		pending, err = sockErrno(fd)
		if err == nil && pending != nil {
			return fdErr("pending error", fd, "SO_ERROR", pending)
		}
	}
	return fdErr("SO_ERROR", fd, "getsockopt", err)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The keepalive settings: idle seconds at most, and the probe count.
const (
	maxKeepIdle     = 32767
	keepAliveProbes = 3
)

// keepIdleSeconds is KeepAlive's idle time for interval > 0: whole
// seconds, rounded up, at most maxKeepIdle.
func keepIdleSeconds(interval time.Duration) int {
	secs := interval / time.Second
	if interval%time.Second != 0 {
		secs++
	}
	return int(min(secs, maxKeepIdle))
}
