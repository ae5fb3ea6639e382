// The native layer of the iocp backend: the AFD and I/O completion port
// calls that golang.org/x/sys/windows does not wrap, and the structures they
// fill in. AFD (the "ancillary function driver", afd.sys) is the kernel
// driver under Winsock; its poll request is what select() and WSAPoll use
// inside, and it can complete through an I/O completion port, which makes
// it a readiness interface like epoll. It is undocumented but stable since
// Windows XP, and Wine implements it.

package mux

import (
	"errors"
	"fmt"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

const (
	ioctlAFDPoll  = 0x00012024 // IOCTL_AFD_POLL
	sioBaseHandle = 0x48000022 // SIO_BASE_HANDLE: the socket under any layered provider
	sioBSPPoll    = 0x4800001D // SIO_BSP_HANDLE_POLL: the same, for providers that hide SIO_BASE_HANDLE
	soType        = 0x1008     // SO_TYPE, which golang.org/x/sys/windows does not define
)

// The AFD_POLL_* event bits of a poll request and its answer.
const (
	afdReceive     = 0x0001 // data to read
	afdSend        = 0x0004 // room in the send buffer; also a completed connect
	afdDisconnect  = 0x0008 // the peer shut down its sending side (a FIN)
	afdAbort       = 0x0010 // the connection was reset
	afdLocalClose  = 0x0020 // the socket was closed in this process
	afdAccept      = 0x0080 // a connection waits in a listener's backlog
	afdConnectFail = 0x0100 // a non-blocking connect failed
)

// afdPollInfo is AFD_POLL_INFO with one handle: the request going in and
// the answer coming out, in the same buffer.
type afdPollInfo struct {
	timeout   int64  // LARGE_INTEGER; the largest value means no limit
	count     uint32 // NumberOfHandles
	exclusive uint32 // Exclusive: FALSE, so that pollers of one socket do not steal each other's reports
	handle    windows.Handle
	events    uint32
	status    windows.NTStatus
}

// overlappedEntry is OVERLAPPED_ENTRY, one completion of
// GetQueuedCompletionStatusEx. For a poll, sock is the apcContext it was
// submitted with: the afdSock whose first field is the IO_STATUS_BLOCK.
type overlappedEntry struct {
	key      uintptr
	sock     *afdSock
	internal uintptr
	bytes    uint32
}

var (
	ntdll                          = windows.NewLazySystemDLL("ntdll.dll")
	kernel32                       = windows.NewLazySystemDLL("kernel32.dll")
	procNtDeviceIoControlFile      = ntdll.NewProc("NtDeviceIoControlFile")
	procNtCancelIoFileEx           = ntdll.NewProc("NtCancelIoFileEx")
	procGetQueuedCompletionStatusE = kernel32.NewProc("GetQueuedCompletionStatusEx")
)

// findProcs makes sure every procedure exists, so that a call never panics.
func findProcs() error {
	for _, p := range []*windows.LazyProc{procNtDeviceIoControlFile, procNtCancelIoFileEx, procGetQueuedCompletionStatusE} {
		if err := p.Find(); err != nil {
			return err
		}
	}
	return nil
}

// openAFD opens a handle on the AFD driver itself (a name under \Device\Afd
// with no extended attributes is no socket, only a channel to the driver)
// and attaches it to port.
func openAFD(port windows.Handle) (windows.Handle, error) {
	name, err := windows.NewNTUnicodeString(`\Device\Afd\aemux`)
	if err != nil {
		return 0, err
	}
	oa := windows.OBJECT_ATTRIBUTES{ObjectName: name}
	oa.Length = uint32(unsafe.Sizeof(oa))
	var h windows.Handle
	var iosb windows.IO_STATUS_BLOCK
	err = windows.NtCreateFile(&h, windows.SYNCHRONIZE, &oa, &iosb, nil, 0,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, windows.FILE_OPEN, 0, 0, 0)
	if err != nil {
		return 0, syscallErr("NtCreateFile", ntErr(err))
	}
	if _, err := windows.CreateIoCompletionPort(h, port, 0, 0); err != nil {
		windows.CloseHandle(h)
		return 0, syscallErr("CreateIoCompletionPort", err)
	}
	// No event to signal on completion: the port is the only consumer.
	if err := windows.SetFileCompletionNotificationModes(h, windows.FILE_SKIP_SET_EVENT_ON_HANDLE); err != nil {
		windows.CloseHandle(h)
		return 0, syscallErr("SetFileCompletionNotificationModes", err)
	}
	return h, nil
}

// handleErr wraps the error of call: an invalid handle (one of the
// backend's own, closed behind its back) also matches syscall.EBADF, as
// the same mistake does on unix.
func handleErr(call string, err error) error {
	if err == windows.ERROR_INVALID_HANDLE {
		return fmt.Errorf("%s: %w (%w)", call, syscall.EBADF, err)
	}
	return syscallErr(call, err)
}

// ntErr turns an NTSTATUS into the Win32 error it stands for, so that
// errors.Is matches windows.ERROR_* values.
func ntErr(err error) error {
	var st windows.NTStatus
	if errors.As(err, &st) {
		return st.Errno()
	}
	return err
}

// afdPoll submits s's poll request on the AFD handle afd. The answer comes
// as a completion on the port, with s as its overlapped pointer.
func afdPoll(afd windows.Handle, s *afdSock) error {
	s.iosb.Status = windows.STATUS_PENDING
	r, _, _ := syscall.SyscallN(procNtDeviceIoControlFile.Addr(), uintptr(afd), 0, 0,
		uintptr(unsafe.Pointer(s)), uintptr(unsafe.Pointer(&s.iosb)), ioctlAFDPoll,
		uintptr(unsafe.Pointer(&s.info)), unsafe.Sizeof(s.info),
		uintptr(unsafe.Pointer(&s.info)), unsafe.Sizeof(s.info))
	if st := windows.NTStatus(r); st != windows.STATUS_SUCCESS && st != windows.STATUS_PENDING {
		s.iosb.Status = st
		return st.Errno()
	}
	return nil
}

// afdCancel asks for s's poll to complete now, with STATUS_CANCELLED. A
// poll that has just completed by itself is not an error: either way one
// completion comes.
func afdCancel(afd windows.Handle, s *afdSock) error {
	var iosb windows.IO_STATUS_BLOCK
	r, _, _ := syscall.SyscallN(procNtCancelIoFileEx.Addr(), uintptr(afd),
		uintptr(unsafe.Pointer(&s.iosb)), uintptr(unsafe.Pointer(&iosb)))
	if st := windows.NTStatus(r); st != windows.STATUS_SUCCESS && st != windows.STATUS_NOT_FOUND {
		return syscallErr("NtCancelIoFileEx", st.Errno())
	}
	return nil
}

// getCompletions dequeues up to len(entries) completions from port,
// waiting up to ms milliseconds (windows.INFINITE: without limit). A
// timeout returns 0 and no error.
func getCompletions(port windows.Handle, entries []overlappedEntry, ms uint32) (int, error) {
	var n uint32
	r, _, e := syscall.SyscallN(procGetQueuedCompletionStatusE.Addr(), uintptr(port),
		uintptr(unsafe.Pointer(&entries[0])), uintptr(len(entries)), uintptr(unsafe.Pointer(&n)),
		uintptr(ms), 0)
	if r == 0 {
		if e == windows.WAIT_TIMEOUT {
			return 0, nil
		}
		return 0, handleErr("GetQueuedCompletionStatusEx", e)
	}
	return int(n), nil
}

// baseSocket returns the socket that AFD knows for the SOCKET fd: fd
// itself unless a layered service provider wraps it. Anything that is not
// a socket is refused with ErrNotPollable, a handle that is not open with
// syscall.EBADF, as fstat(2) refuses a closed fd on unix. getsockopt(SO_TYPE)
// tells sockets apart: Wine answers SIO_BASE_HANDLE for any handle at all.
func baseSocket(fd int) (windows.Handle, error) {
	var typ int32
	size := int32(unsafe.Sizeof(typ))
	err := windows.Getsockopt(windows.Handle(fd), windows.SOL_SOCKET, soType, (*byte)(unsafe.Pointer(&typ)), &size)
	if err == windows.WSAENOTSOCK {
		if _, ferr := windows.GetFileType(windows.Handle(fd)); ferr != nil {
			return 0, fmt.Errorf("handle %d is not open: %w (%w)", fd, syscall.EBADF, ferr)
		}
		return 0, fmt.Errorf("%w: handle %d is not a socket", ErrNotPollable, fd)
	}
	if err != nil {
		return 0, syscallErr("getsockopt", err)
	}
	var base windows.Handle
	var n uint32
	out := (*byte)(unsafe.Pointer(&base))
	err = windows.WSAIoctl(windows.Handle(fd), sioBaseHandle, nil, 0, out, uint32(unsafe.Sizeof(base)), &n, nil, 0)
	if err != nil {
		err = windows.WSAIoctl(windows.Handle(fd), sioBSPPoll, nil, 0, out, uint32(unsafe.Sizeof(base)), &n, nil, 0)
	}
	if err != nil {
		return 0, syscallErr("WSAIoctl", err)
	}
	return base, nil
}
