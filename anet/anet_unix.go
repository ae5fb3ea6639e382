//go:build unix

package anet

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// newSocket makes a non-blocking, close-on-exec stream socket of family.
func newSocket(what string, family int) (int, error) {
	fd, call, err := socket(family, unix.SOCK_STREAM)
	if err != nil {
		return -1, sysErr(what, call, err)
	}
	return fd, nil
}

// listenReuse sets a TCP listener's address sharing on unix: SO_REUSEADDR
// (so a restarted server can bind while old connections sit in TIME_WAIT),
// and with o.ReusePort SO_REUSEPORT (SO_REUSEPORT_LB on FreeBSD).
func listenReuse(what string, fd int, o ListenOptions) error {
	err := setIntOpt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR")
	if err == nil && o.ReusePort {
		err = setIntOpt(fd, unix.SOL_SOCKET, soReusePort, 1, soReusePortName)
	}
	return err
}

// UnixServer makes a Unix domain stream listener at path: non-blocking,
// close-on-exec, bound and listening. When perm is not 0 the socket file
// is chmod'ed to perm's permission bits before listen, so no client
// connects under the umask's mode.
//
// A file already at path is removed first only if it is a socket that
// nobody listens on any more (a stale socket left by a server that died):
// UnixServer tries to connect to it and removes it only when that is
// refused. A socket with a live listener, or any other kind of file, is
// left alone and UnixServer fails with an error matching unix.EADDRINUSE.
// (The probe is a real connection: a live server sees one client connect
// and close.) If listening fails after bind, the socket file is removed.
//
// ListenOptions.ReusePort and V6Only do not apply and are ignored.
func UnixServer(path string, perm os.FileMode, o ListenOptions) (int, error) {
	what := "listen unix " + path
	sa, err := parseUnix(path)
	if err != nil {
		return -1, err
	}
	file := !isAbstract(path)
	if file {
		if err := removeStale(what, path); err != nil {
			return -1, err
		}
	}
	fd, err := newSocket(what, unix.AF_UNIX)
	if err != nil {
		return -1, err
	}
	var chmod func() error
	if file && perm != 0 {
		chmod = func() error {
			return sysErr(what, "chmod", unix.Chmod(path, uint32(perm.Perm())))
		}
	}
	if err := bindListenWith(what, fd, sa, o.Backlog, chmod); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// bindListen binds fd to sa and listens with backlog (0 or less:
// DefaultBacklog).
func bindListen(what string, fd int, sa Sockaddr, backlog int) error {
	return bindListenWith(what, fd, sa, backlog, nil)
}

// bindListenWith is bindListen that runs between, if not nil, after bind
// and before listen. If anything after bind fails and sa is a Unix socket
// file, the file is removed.
func bindListenWith(what string, fd int, sa Sockaddr, backlog int, between func() error) error {
	if err := unix.Bind(fd, sa); err != nil {
		return sysErr(what, "bind", err)
	}
	var err error
	if between != nil {
		err = between()
	}
	if err == nil {
		err = sysErr(what, "listen", unix.Listen(fd, listenBacklog(backlog)))
	}
	if u, ok := sa.(*unix.SockaddrUnix); err != nil && ok && !isAbstract(u.Name) {
		os.Remove(u.Name)
	}
	return err
}

// removeStale removes a socket file at path that has no listener. It
// returns nil when path does not exist or was removed, and an error when
// something that must be kept is there.
func removeStale(what, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("anet: %s: %w", what, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("anet: %s: %s is in the way, not removed: %w", what, fileKind(fi.Mode()), unix.EADDRINUSE)
	}
	fd, err := UnixConnect(path)
	if err == nil {
		unix.Close(fd)
		return fmt.Errorf("anet: %s: a server is listening on it: %w", what, unix.EADDRINUSE)
	}
	if !errors.Is(err, unix.ECONNREFUSED) {
		// Cannot tell whether it is stale (no permission to connect, or a
		// full backlog: EAGAIN): keep it, and say why. Both errnos match.
		return fmt.Errorf("%w: the socket file may be live, not removed: %w", err, unix.EADDRINUSE)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("anet: %s: removing the stale socket: %w", what, err)
	}
	return nil
}

// fileKind names the kind of a file that is not a socket, for errors.
func fileKind(m os.FileMode) string {
	switch m.Type() {
	case 0:
		return "a regular file"
	case os.ModeDir:
		return "a directory"
	case os.ModeSymlink:
		return "a symbolic link"
	}
	return "a non-socket file"
}

// acceptLoop is Accept and AcceptAddr: it retries what is to be retried
// and wraps the rest. wantAddr false lets Linux skip decoding the address,
// and the BSDs converting it.
func acceptLoop(lfd int, wantAddr bool) (int, unix.Sockaddr, error) {
	if !validFd(lfd) {
		return -1, nil, fdErr("accept", lfd, acceptCall, unix.EBADF)
	}
	for {
		fd, sa, call, err := accept(lfd, wantAddr)
		switch err {
		case nil:
			return fd, sa, nil
		case unix.EAGAIN:
			return -1, nil, ErrWouldBlock
		case unix.EINTR, unix.ECONNABORTED:
			continue
		}
		return -1, nil, fdErr("accept", lfd, call, err)
	}
}

// UnixConnect starts a non-blocking connect to the Unix domain socket at
// path and returns the close-on-exec socket, as TCPConnect does. Unix
// connects normally complete at once; with the listener's backlog full,
// Linux fails with an error matching unix.EAGAIN rather than waiting.
func UnixConnect(path string) (int, error) {
	sa, err := parseUnix(path)
	if err != nil {
		return -1, err
	}
	return connect("connect unix "+path, unix.AF_UNIX, sa, nil)
}

// connect makes a socket of family, binds it to local when that is not
// nil, and starts connecting it to sa.
func connect(what string, family int, sa, local unix.Sockaddr) (int, error) {
	fd, err := newSocket(what, family)
	if err != nil {
		return -1, err
	}
	if local != nil {
		err = setIntOpt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR")
		if err == nil {
			err = sysErr(what, "bind", unix.Bind(fd, local))
		}
	}
	if err == nil {
		switch cerr := unix.Connect(fd, sa); cerr {
		case nil, unix.EINPROGRESS, unix.EINTR:
			// EINTR: the connect goes on in the background, as after
			// EINPROGRESS; writability and SO_ERROR tell the outcome.
		default:
			err = sysErr(what, "connect", cerr)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

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

// maxUnixPath is the longest Unix socket path anet accepts: sun_path less
// one byte for the terminating NUL (103 bytes on darwin and the BSDs, 107
// on Linux).
const maxUnixPath = len(unix.RawSockaddrUnix{}.Path) - 1

// parseUnix checks a Unix socket path and makes its sockaddr.
func parseUnix(path string) (unix.Sockaddr, error) {
	switch {
	case path == "":
		return nil, addrErr(path, "empty Unix socket path")
	case strings.IndexByte(path, 0) >= 0:
		return nil, addrErr(path, "NUL byte in Unix socket path")
	case len(path) > maxUnixPath:
		return nil, addrErr(path, "Unix socket path longer than "+strconv.Itoa(maxUnixPath)+" bytes")
	case isAbstract(path) && len(path) == 1:
		return nil, addrErr(path, "empty abstract socket name")
	}
	return &unix.SockaddrUnix{Name: path}, nil
}

// isAbstract reports whether a Unix socket path names Linux's abstract
// namespace, where there is no file to remove or chmod.
func isAbstract(path string) bool {
	return abstractUnix && len(path) > 0 && path[0] == '@'
}

// formatOther is FormatAddr for a Unix socket address: its path, "" for an
// unnamed one; other address types give "".
func formatOther(sa Sockaddr) string {
	if sa, ok := sa.(*unix.SockaddrUnix); ok && !(abstractUnix && sa.Name == "@") {
		return sa.Name
	}
	return ""
}

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
