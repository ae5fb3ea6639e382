//go:build darwin || dragonfly || freebsd || netbsd || openbsd

// The BSD family's constants and calls, macOS included: FIONREAD, read
// and write through x/sys/unix, no abstract socket namespace, SO_REUSEPORT
// or FreeBSD's SO_REUSEPORT_LB. How sockets are made and accepted is
// sys_darwin.go's on macOS, sys_flags.go's and accept_bsd.go's on the
// BSDs; the keepalive timers are keepalive_timers.go's (none on OpenBSD:
// keepalive_openbsd.go).

package anet

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// Pending's ioctl on macOS and the BSDs: FIONREAD from <sys/filio.h>,
// _IOR('f', 127, int). golang.org/x/sys/unix does not export it there; the
// number is the same on all five (read direction 0x40000000, a 4-byte
// argument, group 'f', command 127).
const (
	fionread     = 0x4004667f
	fionreadName = "FIONREAD"
)

// sysRead and sysWrite are read(2) and write(2) through x/sys/unix: macOS
// and OpenBSD allow system calls only through libc.
func sysRead(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

func sysWrite(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

// abstractUnix: no abstract socket namespace here; '@' is an ordinary
// first character of a path.
const abstractUnix = false

// soReusePortLB is FreeBSD's SO_REUSEPORT_LB (<sys/socket.h>), which
// golang.org/x/sys/unix defines for FreeBSD alone.
const soReusePortLB = 0x10000

// ReusePort's option. On FreeBSD, SO_REUSEPORT lets listeners share a port
// but sends every connection to one of them; SO_REUSEPORT_LB (FreeBSD 12
// and later) spreads connections over the group, which is what ReusePort
// promises. macOS and the other BSDs spread them with SO_REUSEPORT.
var soReusePort, soReusePortName = func() (int, string) {
	if runtime.GOOS == "freebsd" {
		return soReusePortLB, "SO_REUSEPORT_LB"
	}
	return unix.SO_REUSEPORT, "SO_REUSEPORT"
}()
