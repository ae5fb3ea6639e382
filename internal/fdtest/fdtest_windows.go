package fdtest

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"

	"github.com/aemux/mux/internal/winsock"
)

// Windows has no socketpair(2) and its pipes are no sockets (only sockets
// can be polled), so the pairs a test watches, Socketpair's and Pipe's, are
// loopback TCP connections. Every socket made here is non-blocking
// (FIONBIO) and not inherited by child processes, and the numbers returned
// are SOCKET handles, as mux.Poller.Add takes them.

// socket returns a new non-blocking, non-inheritable TCP socket.
func socket() (windows.Handle, error) {
	s, err := Socket(windows.AF_INET, windows.SOCK_STREAM)
	return windows.Handle(s), err
}

// Socket returns a new socket of the given domain and type (the AF_ and
// SOCK_ values of golang.org/x/sys/windows), non-blocking and not
// inherited.
func Socket(domain, typ int) (int, error) {
	if err := winsock.Startup(); err != nil {
		return -1, fmt.Errorf("WSAStartup: %w", err)
	}
	s, err := windows.WSASocket(int32(domain), int32(typ), 0, nil, 0,
		windows.WSA_FLAG_OVERLAPPED|windows.WSA_FLAG_NO_HANDLE_INHERIT)
	if err != nil {
		return -1, fmt.Errorf("WSASocket: %w", err)
	}
	if err := SetNonblock(int(s)); err != nil {
		windows.Closesocket(s)
		return -1, err
	}
	return int(s), nil
}

// Pipe returns the two ends of a loopback TCP connection in place of a
// pipe: r to read from, w to write to. A Windows pipe is no socket and
// cannot be polled.
func Pipe() (r, w int, err error) { return Socketpair() }

// OpenFds lists the process's open handles, in order, by asking
// GetHandleInformation about every handle value (a multiple of 4) until
// 4,096 values in a row are unused: Windows hands out the lowest free
// values, so a test process's handles have no gap that wide.
func OpenFds() []int {
	var fds []int
	for h, last := 4, 0; h-last <= 4*4096 && h < 1<<26; h += 4 {
		if IsOpen(h) {
			fds = append(fds, h)
			last = h
		}
	}
	return fds
}

// IsOpen reports whether fd is an open handle.
func IsOpen(fd int) bool {
	_, err := winsock.HandleFlags(fd)
	return err == nil
}

// SetNonblock makes the socket fd non-blocking.
func SetNonblock(fd int) error {
	if err := winsock.SetNonblock(fd, true); err != nil {
		return fmt.Errorf("ioctlsocket FIONBIO: %w", err)
	}
	return nil
}

// Listen returns a non-blocking TCP listener on 127.0.0.1 and its port.
func Listen() (fd, port int, err error) {
	s, err := socket()
	if err != nil {
		return -1, 0, err
	}
	if err := windows.Bind(s, &windows.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		windows.Closesocket(s)
		return -1, 0, fmt.Errorf("bind: %w", err)
	}
	if err := windows.Listen(s, 128); err != nil {
		windows.Closesocket(s)
		return -1, 0, fmt.Errorf("listen: %w", err)
	}
	sa, err := windows.Getsockname(s)
	if err != nil {
		windows.Closesocket(s)
		return -1, 0, fmt.Errorf("getsockname: %w", err)
	}
	return int(s), sa.(*windows.SockaddrInet4).Port, nil
}

// Connect starts a non-blocking connect to 127.0.0.1:port and returns the
// socket; the connection is made (or refused) in the background.
func Connect(port int) (int, error) {
	s, err := socket()
	if err != nil {
		return -1, err
	}
	err = windows.Connect(s, &windows.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: port})
	if err != nil && err != windows.WSAEWOULDBLOCK {
		windows.Closesocket(s)
		return -1, fmt.Errorf("connect: %w", err)
	}
	return int(s), nil
}

// Accept takes a connection from the listener l, made non-blocking; it
// returns windows.WSAEWOULDBLOCK when none is waiting.
func Accept(l int) (int, error) {
	fd, err := winsock.Accept(l, nil, nil)
	if err != nil {
		return -1, err
	}
	if err := SetNonblock(fd); err != nil {
		windows.Closesocket(windows.Handle(fd))
		return -1, err
	}
	return fd, nil
}

// Socketpair returns the two ends of a connected loopback TCP connection,
// both non-blocking, with Nagle's algorithm off so that small writes arrive
// at once.
func Socketpair() (a, b int, err error) {
	l, port, err := Listen()
	if err != nil {
		return -1, -1, err
	}
	defer windows.Closesocket(windows.Handle(l))
	return Pair(l, port)
}

// Pair connects to the listener l on port and accepts the connection: the
// connecting end is a, the accepted one b, as Socketpair returns them.
func Pair(l, port int) (a, b int, err error) {
	if a, err = Connect(port); err != nil {
		return -1, -1, err
	}
	// The connection is in the listener's backlog once connect's handshake
	// is done; on loopback that takes microseconds, but accept does not wait.
	for range 2000 {
		if b, err = Accept(l); !errors.Is(err, windows.WSAEWOULDBLOCK) {
			break
		}
		windows.SleepEx(1, false)
	}
	if err != nil {
		Close(a)
		return -1, -1, fmt.Errorf("accept: %w", err)
	}
	for _, fd := range [2]int{a, b} {
		if err := windows.SetsockoptInt(windows.Handle(fd), windows.IPPROTO_TCP, windows.TCP_NODELAY, 1); err != nil {
			Close(a)
			Close(b)
			return -1, -1, fmt.Errorf("TCP_NODELAY: %w", err)
		}
	}
	return a, b, nil
}

// Read receives into p without blocking: windows.WSAEWOULDBLOCK when
// nothing is there, (0, nil) at the peer's end of stream.
func Read(fd int, p []byte) (int, error) {
	buf := windows.WSABuf{Len: uint32(len(p))}
	if len(p) > 0 {
		buf.Buf = &p[0]
	}
	var n, flags uint32
	err := windows.WSARecv(windows.Handle(fd), &buf, 1, &n, &flags, nil, nil)
	return int(n), err
}

// Write sends p without blocking: windows.WSAEWOULDBLOCK when the send
// buffer is full.
func Write(fd int, p []byte) (int, error) {
	buf := windows.WSABuf{Len: uint32(len(p))}
	if len(p) > 0 {
		buf.Buf = &p[0]
	}
	var n uint32
	err := windows.WSASend(windows.Handle(fd), &buf, 1, &n, 0, nil, nil)
	return int(n), err
}

// WouldBlock reports whether err says that the call would have blocked.
func WouldBlock(err error) bool { return errors.Is(err, windows.WSAEWOULDBLOCK) }

// Shutdown shuts the sending side of fd down: the peer reads end of stream.
func Shutdown(fd int) error {
	return os.NewSyscallError("shutdown", windows.Shutdown(windows.Handle(fd), windows.SHUT_WR))
}

// Close closes the socket fd, or fd's handle if it is no socket (a file a
// test opened).
func Close(fd int) error {
	err := windows.Closesocket(windows.Handle(fd))
	if err == windows.WSAENOTSOCK {
		return os.NewSyscallError("CloseHandle", windows.CloseHandle(windows.Handle(fd)))
	}
	return os.NewSyscallError("closesocket", err)
}
