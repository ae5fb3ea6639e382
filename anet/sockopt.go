package anet

import (
	"math"
	"time"

	"golang.org/x/sys/unix"
)

// NonBlock sets (on) or clears O_NONBLOCK on fd: anetNonBlock and
// anetBlock in one.
func NonBlock(fd int, on bool) error {
	var err error = unix.EBADF
	if validFd(fd) {
		err = unix.SetNonblock(fd, on)
	}
	return fdErr("O_NONBLOCK", fd, "fcntl", err)
}

// Cloexec sets FD_CLOEXEC on fd, so exec'ed programs do not inherit it.
// Fds made by anet have it already; this is for fds from elsewhere.
func Cloexec(fd int) error {
	var err error = unix.EBADF
	if validFd(fd) {
		var flags int
		flags, err = unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err == nil && flags&unix.FD_CLOEXEC == 0 {
			_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFD, flags|unix.FD_CLOEXEC)
		}
	}
	return fdErr("FD_CLOEXEC", fd, "fcntl", err)
}

// TCPNoDelay sets (on) or clears TCP_NODELAY on a TCP socket: with it,
// small writes go out at once instead of waiting for Nagle's algorithm to
// coalesce them.
func TCPNoDelay(fd int, on bool) error {
	return setIntOpt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, boolInt(on), "TCP_NODELAY")
}

// KeepAlive turns on SO_KEEPALIVE on a TCP socket and, where the OS has
// per-socket timers, sets them as Redis's anetKeepAlive does: the first
// probe after interval of idleness, then a probe every interval/3, and the
// peer is dropped after 3 unanswered probes. The interval is rounded up to
// whole seconds and kept between 1 s and 32767 s (Linux's largest); the
// probe interval is at least 1 s.
//
// The idle time is TCP_KEEPIDLE on Linux, FreeBSD, NetBSD and DragonFly
// and TCP_KEEPALIVE on darwin, which all also get TCP_KEEPINTVL and
// TCP_KEEPCNT. OpenBSD has no per-socket timers (only the
// net.inet.tcp.keepidle and keepintvl sysctls), so there interval only
// matters in being > 0. interval <= 0 sets SO_KEEPALIVE alone, leaving
// the system's timers.
func KeepAlive(fd int, interval time.Duration) error {
	if err := setIntOpt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, "SO_KEEPALIVE"); err != nil {
		return err
	}
	if interval <= 0 || !keepAliveTimers {
		return nil
	}
	secs := interval / time.Second
	if interval%time.Second != 0 {
		secs++
	}
	idle := int(min(secs, maxKeepIdle))
	if err := setIntOpt(fd, unix.IPPROTO_TCP, tcpKeepIdle, idle, tcpKeepIdleName); err != nil {
		return err
	}
	if err := setIntOpt(fd, unix.IPPROTO_TCP, tcpKeepIntvl, max(idle/3, 1), "TCP_KEEPINTVL"); err != nil {
		return err
	}
	return setIntOpt(fd, unix.IPPROTO_TCP, tcpKeepCnt, keepAliveProbes, "TCP_KEEPCNT")
}

// The keepalive settings: idle seconds at most, and the probe count.
const (
	maxKeepIdle     = 32767
	keepAliveProbes = 3
)

// SendBuffer sets the socket's send buffer size, SO_SNDBUF, to n bytes.
// The kernel may round it (Linux doubles it for its bookkeeping) and caps
// it (net.core.wmem_max, kern.ipc.maxsockbuf). An n that is negative or
// does not fit a C int fails with an error matching unix.EINVAL.
func SendBuffer(fd, n int) error {
	return setBuffer(fd, unix.SO_SNDBUF, n, "SO_SNDBUF")
}

// RecvBuffer sets the socket's receive buffer size, SO_RCVBUF, to n bytes,
// as SendBuffer does for sending.
func RecvBuffer(fd, n int) error {
	return setBuffer(fd, unix.SO_RCVBUF, n, "SO_RCVBUF")
}

// setBuffer sets a buffer size option, refusing sizes the kernel's C int
// cannot hold or would read as huge (Linux takes a negative size as
// unsigned, that is as "as large as allowed").
func setBuffer(fd, opt, n int, name string) error {
	if validFd(fd) && (n < 0 || n > math.MaxInt32) {
		return fdErr(name, fd, "setsockopt", unix.EINVAL)
	}
	return setIntOpt(fd, unix.SOL_SOCKET, opt, n, name)
}

// SockError returns the error pending on fd (SO_ERROR), clearing it: nil,
// or an error matching the errno, such as unix.ECONNREFUSED for a
// TCPConnect to a port nobody listens on. Call it once a connecting fd is
// writable. Like anetGetError, but with the errno kept.
func SockError(fd int) error {
	var err error = unix.EBADF
	if validFd(fd) {
		var v int
		v, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && v != 0 {
			return fdErr("pending error", fd, "SO_ERROR", unix.Errno(v))
		}
	}
	return fdErr("SO_ERROR", fd, "getsockopt", err)
}

// setIntOpt sets an int socket option, name for the error text.
func setIntOpt(fd, level, opt, v int, name string) error {
	var err error = unix.EBADF
	if validFd(fd) {
		err = unix.SetsockoptInt(fd, level, opt, v)
	}
	return fdErr(name, fd, "setsockopt", err)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
