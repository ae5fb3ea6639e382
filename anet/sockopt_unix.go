//go:build unix

package anet

import (
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
	idle := keepIdleSeconds(interval)
	if err := setIntOpt(fd, unix.IPPROTO_TCP, tcpKeepIdle, idle, tcpKeepIdleName); err != nil {
		return err
	}
	if err := setIntOpt(fd, unix.IPPROTO_TCP, tcpKeepIntvl, max(idle/3, 1), "TCP_KEEPINTVL"); err != nil {
		return err
	}
	return setIntOpt(fd, unix.IPPROTO_TCP, tcpKeepCnt, keepAliveProbes, "TCP_KEEPCNT")
}

// setIntOpt sets an int socket option, name for the error text.
func setIntOpt(fd, level, opt, v int, name string) error {
	var err error = unix.EBADF
	if validFd(fd) {
		err = unix.SetsockoptInt(fd, level, opt, v)
	}
	return fdErr(name, fd, "setsockopt", err)
}
