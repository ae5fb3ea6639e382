package winsock

import (
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// FIONBIO and FIONREAD are the ioctlsocket commands: _IOW('f', 126, u_long)
// sets or clears non-blocking mode, _IOR('f', 127, u_long) reads how many
// bytes are waiting.
const (
	FIONBIO  = 0x8004667e
	FIONREAD = 0x4004667f
)

var (
	ws2           = windows.NewLazySystemDLL("ws2_32.dll")
	procAccept    = ws2.NewProc("accept")
	procIoctl     = ws2.NewProc("ioctlsocket")
	kernel32      = windows.NewLazySystemDLL("kernel32.dll")
	procHandleInf = kernel32.NewProc("GetHandleInformation")

	startOnce sync.Once
	startErr  error
)

// Startup starts Winsock 2.2 for the process, once; later calls return the
// first call's error. It is never undone, as a process's use of Winsock
// seldom is. (A Poller also calls WSAStartup and WSACleanup in pairs of its
// own; Winsock counts them.)
func Startup() error {
	startOnce.Do(func() {
		var d windows.WSAData
		startErr = windows.WSAStartup(0x0202, &d)
	})
	return startErr
}

// Ioctl runs ioctlsocket(fd, cmd, arg) and returns the Winsock error, if
// any.
func Ioctl(fd int, cmd uint32, arg *uint32) error {
	r, _, e := syscall.SyscallN(procIoctl.Addr(), uintptr(fd), uintptr(cmd), uintptr(unsafe.Pointer(arg)))
	if int32(r) != 0 {
		return e
	}
	return nil
}

// SetNonblock sets (on) or clears non-blocking mode on the socket fd.
func SetNonblock(fd int, on bool) error {
	v := uint32(0)
	if on {
		v = 1
	}
	return Ioctl(fd, FIONBIO, &v)
}

// Accept takes a connection from the listening socket l with accept(2):
// the new socket, or the Winsock error (WSAEWOULDBLOCK when none waits on a
// non-blocking listener). With rsa and n non-nil it also fills in the
// peer's address.
func Accept(l int, rsa *windows.RawSockaddrAny, n *int32) (int, error) {
	r, _, e := syscall.SyscallN(procAccept.Addr(), uintptr(l), uintptr(unsafe.Pointer(rsa)), uintptr(unsafe.Pointer(n)))
	if windows.Handle(r) == windows.InvalidHandle {
		return -1, e
	}
	return int(r), nil
}

// HandleFlags returns the HANDLE_FLAG_ bits of handle h
// (GetHandleInformation), or the error for a handle that is not open.
func HandleFlags(h int) (uint32, error) {
	var flags uint32
	r, _, e := syscall.SyscallN(procHandleInf.Addr(), uintptr(h), uintptr(unsafe.Pointer(&flags)))
	if r == 0 {
		return 0, e
	}
	return flags, nil
}
