package anet

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/aemux/mux/internal/winsock"
)

// Sockaddr is a socket address as the system package decodes it:
// windows.Sockaddr here (*windows.SockaddrInet4, *windows.SockaddrInet6),
// unix.Sockaddr on every unix. AcceptAddr returns one and FormatAddr writes
// one, with the same signatures on every OS.
type Sockaddr = windows.Sockaddr

// The address types and numbers the OS-neutral code builds sockaddrs and
// sets options with.
type (
	sockaddrInet4 = windows.SockaddrInet4
	sockaddrInet6 = windows.SockaddrInet6
)

const (
	afInet     = windows.AF_INET
	afInet6    = windows.AF_INET6
	solSocket  = windows.SOL_SOCKET
	ipprotoTCP = windows.IPPROTO_TCP
	tcpNoDelay = windows.TCP_NODELAY
	soSndBuf   = windows.SO_SNDBUF
	soRcvBuf   = windows.SO_RCVBUF
	ipprotoV6  = windows.IPPROTO_IPV6
	ipv6Only   = windows.IPV6_V6ONLY
)

// Winsock numbers x/sys/windows does not name.
const (
	soError            = 0x1007 // SO_ERROR
	soExclusiveAddrUse = ^0x4   // SO_EXCLUSIVEADDRUSE, ~SO_REUSEADDR
)

// The errnos the OS-neutral code reports, boxed once so that returning
// them allocates nothing.
var (
	errWouldBlock  error = windows.WSAEWOULDBLOCK
	errIntr        error = windows.WSAEINTR
	errBadFd       error = windows.WSAENOTSOCK
	errInval       error = windows.WSAEINVAL
	errAfNoSupport error = windows.WSAEAFNOSUPPORT
	errTimedOut    error = windows.WSAETIMEDOUT
)

// Is makes ErrWouldBlock match syscall.EAGAIN too (Go's stand-in errno for
// it on Windows), besides windows.WSAEWOULDBLOCK, which it unwraps to.
func (*wouldBlock) Is(target error) bool { return target == syscall.EAGAIN }

var (
	ws2      = windows.NewLazySystemDLL("ws2_32.dll")
	procRecv = ws2.NewProc("recv")
	procSend = ws2.NewProc("send")
)

// wsaStartup initializes Winsock once, before anet's first socket.
func wsaStartup() error {
	return sysErr("init", "WSAStartup", winsock.Startup())
}

// ioctlsocket runs the ioctlsocket call cmd on fd with *arg.
func ioctlsocket(fd int, cmd uint32, arg *uint32) error { return winsock.Ioctl(fd, cmd, arg) }

// newSocket makes a non-blocking, non-inheritable TCP socket of family.
// WSA_FLAG_NO_HANDLE_INHERIT keeps it out of child processes from the
// start; the overlapped flag is what socket() would set too.
func newSocket(what string, family int) (int, error) {
	if err := wsaStartup(); err != nil {
		return -1, err
	}
	h, err := windows.WSASocket(int32(family), windows.SOCK_STREAM, windows.IPPROTO_TCP, nil, 0,
		windows.WSA_FLAG_OVERLAPPED|windows.WSA_FLAG_NO_HANDLE_INHERIT)
	if err != nil {
		return -1, sysErr(what, "WSASocket", err)
	}
	fd := int(h)
	if !validFd(fd) {
		windows.Closesocket(h)
		return -1, sysErr(what, "WSASocket", errBadFd)
	}
	on := uint32(1)
	if err := ioctlsocket(fd, winsock.FIONBIO, &on); err != nil {
		windows.Closesocket(h)
		return -1, sysErr(what, "ioctlsocket FIONBIO", err)
	}
	return fd, nil
}

// listenReuse sets a TCP listener's address sharing on Windows:
// SO_EXCLUSIVEADDRUSE, and o.ReusePort is refused (see TCPServer).
func listenReuse(what string, fd int, o ListenOptions) error {
	if o.ReusePort {
		return fmt.Errorf("anet: %s: ReusePort (SO_REUSEPORT): %w on Windows", what, errors.ErrUnsupported)
	}
	return setIntOpt(fd, solSocket, soExclusiveAddrUse, 1, "SO_EXCLUSIVEADDRUSE")
}

// bindListen binds fd to sa and listens with backlog (0 or less:
// DefaultBacklog).
func bindListen(what string, fd int, sa Sockaddr, backlog int) error {
	if err := windows.Bind(windows.Handle(fd), sa); err != nil {
		return sysErr(what, "bind", err)
	}
	return sysErr(what, "listen", windows.Listen(windows.Handle(fd), listenBacklog(backlog)))
}

// UnixServer makes a Unix domain stream listener at path on unix. On
// Windows it fails with an error matching errors.ErrUnsupported: anet
// does not use Windows' AF_UNIX sockets (Windows 10 1803 and later; Wine's
// support is partial).
func UnixServer(path string, perm os.FileMode, o ListenOptions) (int, error) {
	return -1, fmt.Errorf("anet: listen unix %s: Unix sockets: %w on Windows", path, errors.ErrUnsupported)
}

// UnixConnect connects to a Unix domain socket on unix. On Windows it
// fails with an error matching errors.ErrUnsupported, as UnixServer does.
func UnixConnect(path string) (int, error) {
	return -1, fmt.Errorf("anet: connect unix %s: Unix sockets: %w on Windows", path, errors.ErrUnsupported)
}

// acceptLoop is Accept and AcceptAddr on Windows: accept, then the new
// socket is made non-blocking and non-inheritable (Windows passes the
// listener's flags on, but does not promise to). WSAEINTR and
// WSAECONNRESET (a client gave up before it was accepted) are retried.
func acceptLoop(lfd int, wantAddr bool) (int, Sockaddr, error) {
	if !validFd(lfd) {
		return -1, nil, fdErr("accept", lfd, "accept", errBadFd)
	}
	for {
		var rsa windows.RawSockaddrAny
		n := int32(unsafe.Sizeof(rsa))
		var prsa *windows.RawSockaddrAny
		var pn *int32
		if wantAddr {
			prsa, pn = &rsa, &n
		}
		fd, e := winsock.Accept(lfd, prsa, pn)
		if e != nil {
			switch e {
			case windows.WSAEWOULDBLOCK:
				return -1, nil, ErrWouldBlock
			case windows.WSAEINTR, windows.WSAECONNRESET:
				continue
			}
			return -1, nil, fdErr("accept", lfd, "accept", e)
		}
		if err := setupAccepted(fd); err != nil {
			closeFd(fd)
			return -1, nil, fdErr("accept", lfd, "accept", err)
		}
		if !wantAddr {
			return fd, nil, nil
		}
		sa, err := rsa.Sockaddr()
		if err != nil {
			closeFd(fd)
			return -1, nil, fdErr("accept", lfd, "accept", err)
		}
		return fd, sa, nil
	}
}

// setupAccepted makes an accepted socket non-blocking and non-inheritable.
func setupAccepted(fd int) error {
	if !validFd(fd) {
		return errBadFd
	}
	on := uint32(1)
	if err := ioctlsocket(fd, winsock.FIONBIO, &on); err != nil {
		return err
	}
	return windows.SetHandleInformation(windows.Handle(fd), windows.HANDLE_FLAG_INHERIT, 0)
}

// connect makes a socket of family, binds it to local when that is not
// nil, and starts connecting it to sa. Windows answers a connect in
// progress with WSAEWOULDBLOCK. No SO_REUSEADDR before the bind: on
// Windows it would let the socket share a port in use.
func connect(what string, family int, sa, local Sockaddr) (int, error) {
	fd, err := newSocket(what, family)
	if err != nil {
		return -1, err
	}
	h := windows.Handle(fd)
	if local != nil {
		err = sysErr(what, "bind", windows.Bind(h, local))
	}
	if err == nil {
		switch cerr := windows.Connect(h, sa); cerr {
		case nil, windows.WSAEWOULDBLOCK:
		default:
			err = sysErr(what, "connect", cerr)
		}
	}
	if err != nil {
		closeFd(fd)
		return -1, err
	}
	return fd, nil
}

// NonBlock sets (on) or clears non-blocking mode on the socket fd
// (ioctlsocket FIONBIO; O_NONBLOCK on unix).
func NonBlock(fd int, on bool) error {
	var err error = errBadFd
	if validFd(fd) {
		v := uint32(boolInt(on))
		err = ioctlsocket(fd, winsock.FIONBIO, &v)
	}
	return fdErr("FIONBIO", fd, "ioctlsocket", err)
}

// Cloexec keeps fd out of child processes: on Windows it clears the
// handle's HANDLE_FLAG_INHERIT (FD_CLOEXEC on unix). Sockets made by anet
// are not inheritable already; this is for handles from elsewhere.
func Cloexec(fd int) error {
	var err error = errBadFd
	if validFd(fd) {
		err = windows.SetHandleInformation(windows.Handle(fd), windows.HANDLE_FLAG_INHERIT, 0)
	}
	return fdErr("HANDLE_FLAG_INHERIT", fd, "SetHandleInformation", err)
}

// KeepAlive turns on SO_KEEPALIVE on a TCP socket and, with interval > 0,
// sets its timers as Redis's anetKeepAlive does on Linux: the first probe
// after interval of idleness, then a probe every interval/3 (at least
// 1 s). On Windows that is the SIO_KEEPALIVE_VALS ioctl, in milliseconds
// (interval rounded up to whole seconds, at most 32767 s, as on unix);
// the number of unanswered probes before the peer is dropped is Windows'
// own, 10 (not settable per socket before Windows 10 1709).
func KeepAlive(fd int, interval time.Duration) error {
	if err := setIntOpt(fd, solSocket, windows.SO_KEEPALIVE, 1, "SO_KEEPALIVE"); err != nil {
		return err
	}
	if interval <= 0 {
		return nil
	}
	idle := keepIdleSeconds(interval)
	ka := windows.TCPKeepalive{OnOff: 1, Time: uint32(idle) * 1000, Interval: uint32(max(idle/3, 1)) * 1000}
	var ret uint32
	err := windows.WSAIoctl(windows.Handle(fd), windows.SIO_KEEPALIVE_VALS, (*byte)(unsafe.Pointer(&ka)),
		uint32(unsafe.Sizeof(ka)), nil, 0, &ret, nil, 0)
	return fdErr("SIO_KEEPALIVE_VALS", fd, "WSAIoctl", err)
}

// setIntOpt sets an int socket option, name for the error text.
func setIntOpt(fd, level, opt, v int, name string) error {
	var err error = errBadFd
	if validFd(fd) {
		err = windows.SetsockoptInt(windows.Handle(fd), level, opt, v)
	}
	return fdErr(name, fd, "setsockopt", err)
}

// sockErrno reads and clears fd's pending error (SO_ERROR): nil when there
// is none, else the errno, unwrapped. err is getsockopt's own failure.
func sockErrno(fd int) (pending, err error) {
	v, err := windows.GetsockoptInt(windows.Handle(fd), solSocket, soError)
	if err != nil || v == 0 {
		return nil, err
	}
	return syscall.Errno(v), nil
}

// Pending returns how many bytes are waiting to be read on the socket fd
// (wrk's sock_readable): ioctlsocket FIONREAD on Windows. A client that
// read a full buffer can ask whether another read would find more. A bad
// fd fails with an error matching windows.WSAENOTSOCK.
func Pending(fd int) (int, error) {
	var err error = errBadFd
	if validFd(fd) {
		var n uint32
		if err = ioctlsocket(fd, winsock.FIONREAD, &n); err == nil {
			return int(n), nil
		}
	}
	return 0, fdErr("pending bytes", fd, "ioctlsocket FIONREAD", err)
}

// NetConn hands a connected socket to Go's net package on unix. On
// Windows it fails with an error matching errors.ErrUnsupported: package
// net cannot adopt a socket handle there (net.FileConn is not implemented
// on Windows). fd is left open.
func NetConn(fd int) (net.Conn, error) {
	return nil, fmt.Errorf("anet: net.Conn from fd %d: %w on Windows", fd, errors.ErrUnsupported)
}

// NetListener is NetConn for a listening socket; on Windows it fails with
// an error matching errors.ErrUnsupported, as NetConn does.
func NetListener(fd int) (net.Listener, error) {
	return nil, fmt.Errorf("anet: net.Listener from fd %d: %w on Windows", fd, errors.ErrUnsupported)
}

// FromNet takes a connection or listener from Go's net package for a loop
// on unix. On Windows it fails with an error matching
// errors.ErrUnsupported: a socket of package net is bound to Go's own
// completion port and cannot be duplicated for another one.
func FromNet(c io.Closer) (int, error) {
	return -1, fmt.Errorf("anet: fd from %T: %w on Windows", c, errors.ErrUnsupported)
}

// sysRead and sysWrite are recv and send, flags 0. The would-block and
// interrupted errnos come back as the preboxed errWouldBlock and
// errIntr, for Read and Write to compare without allocating.
func sysRead(fd int, p []byte) (int, error) { return sockIO(procRecv, fd, p) }

func sysWrite(fd int, p []byte) (int, error) { return sockIO(procSend, fd, p) }

func sockIO(proc *windows.LazyProc, fd int, p []byte) (int, error) {
	n, _, e := syscall.SyscallN(proc.Addr(), uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(min(len(p), math.MaxInt32)), 0)
	if int32(n) >= 0 {
		return int(int32(n)), nil
	}
	switch e {
	case windows.WSAEWOULDBLOCK:
		return 0, errWouldBlock
	case windows.WSAEINTR:
		return 0, errIntr
	}
	return 0, e
}

// Close closes the socket fd (closesocket on Windows; close(2) on unix),
// so that a handler closes its connections the same way on every OS.
func Close(fd int) error {
	if !validFd(fd) {
		return fdErr("close", fd, "closesocket", errBadFd)
	}
	return fdErr("close", fd, "closesocket", windows.Closesocket(windows.Handle(fd)))
}

// closeFd closes a socket anet made and gives up on, ignoring the error.
func closeFd(fd int) { windows.Closesocket(windows.Handle(fd)) }

// formatOther is FormatAddr for address types other than IPv4 and IPv6:
// "" on Windows, where anet makes no Unix sockets.
func formatOther(Sockaddr) string { return "" }

func getsockname(fd int) (Sockaddr, error) { return windows.Getsockname(windows.Handle(fd)) }
func getpeername(fd int) (Sockaddr, error) { return windows.Getpeername(windows.Handle(fd)) }
