//go:build darwin

// macOS's own calls and constants: no SOCK_CLOEXEC and no accept4, and
// TCP_KEEPALIVE for the idle time. The rest it shares with the BSDs
// (sys_bsd.go).

package anet

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// socket makes a non-blocking, close-on-exec socket; see newFd.
func socket(family, typ int) (int, string, error) {
	return newFd("socket", func() (int, error) { return unix.Socket(family, typ, 0) })
}

// acceptCall names the accept system call in errors.
const acceptCall = "accept"

// accept takes a connection with accept(2) and makes it non-blocking and
// close-on-exec; see newFd. It returns the errno unwrapped, for the
// caller's retry loop, and the name of the failing call. The address is
// always decoded (wantAddr is for Linux's allocation-free path).
func accept(lfd int, _ bool) (int, unix.Sockaddr, string, error) {
	var sa unix.Sockaddr
	fd, call, err := newFd(acceptCall, func() (fd int, err error) {
		fd, sa, err = unix.Accept(lfd)
		return fd, err
	})
	return fd, sa, call, err
}

// newFd runs mk, socket(2) or accept(2), and makes the fd it returns
// close-on-exec and non-blocking. darwin has neither SOCK_CLOEXEC nor
// accept4, so FD_CLOEXEC is set right after mk while holding
// syscall.ForkLock for reading, as package os does: os/exec forks with the
// lock held for writing, so no child can inherit the fd in between. On
// failure newFd returns the name of the failing call (call, or fcntl) and
// leaves no fd open.
func newFd(call string, mk func() (int, error)) (int, string, error) {
	syscall.ForkLock.RLock()
	fd, err := mk()
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, call, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, "fcntl", err
	}
	return fd, "", nil
}

// KeepAlive's idle time is TCP_KEEPALIVE on darwin.
const (
	keepAliveTimers = true
	tcpKeepIdle     = unix.TCP_KEEPALIVE
	tcpKeepIdleName = "TCP_KEEPALIVE"
	tcpKeepIntvl    = unix.TCP_KEEPINTVL
	tcpKeepCnt      = unix.TCP_KEEPCNT
)
