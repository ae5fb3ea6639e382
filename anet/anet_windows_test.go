package anet

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/windows"
)

// What Windows cannot do is refused with errors.ErrUnsupported, and leaves
// nothing open.
func TestWindowsUnsupported(t *testing.T) {
	_, err := TCPServer("127.0.0.1:0", ListenOptions{ReusePort: true})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = UnixServer(`C:\aemux.sock`, 0, ListenOptions{})
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = UnixConnect(`C:\aemux.sock`)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	lfd, err := TCPServer("127.0.0.1:0", ListenOptions{})
	require.NoError(t, err)
	closeLater(t, lfd)
	_, err = NetListener(lfd)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = NetConn(lfd)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = FromNet(nil)
	require.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = Port(lfd) // still open: NetListener did not take it
	require.NoError(t, err)
}

// errConnRefused is what a connect to a port nobody listens on fails with.
var errConnRefused error = windows.WSAECONNREFUSED

var procGetHandleInformation = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetHandleInformation")

// handleInherit reports whether h is inheritable.
func handleInherit(t *testing.T, fd int) bool {
	t.Helper()
	var flags uint32
	r, _, e := procGetHandleInformation.Call(uintptr(fd), uintptr(unsafe.Pointer(&flags)))
	require.NotZero(t, r, "GetHandleInformation: %v", e)
	return flags&windows.HANDLE_FLAG_INHERIT != 0
}

// Every socket anet makes is kept out of child processes; Cloexec clears
// the flag on a handle from elsewhere.
func TestWindowsNotInheritable(t *testing.T) {
	lfd, client, server := pair(t, "127.0.0.1")
	for _, fd := range []int{lfd, client, server} {
		require.False(t, handleInherit(t, fd), "fd %d is inheritable", fd)
	}
	require.NoError(t, windows.SetHandleInformation(windows.Handle(server), windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT))
	require.True(t, handleInherit(t, server))
	require.NoError(t, Cloexec(server))
	require.False(t, handleInherit(t, server))
}

// SO_EXCLUSIVEADDRUSE: a second listener on a port in use is refused, and
// a closed listener's port can be bound again at once.
func TestWindowsExclusiveAddr(t *testing.T) {
	lfd, err := TCPServer("127.0.0.1:0", ListenOptions{})
	require.NoError(t, err)
	addr, err := LocalAddr(lfd)
	require.NoError(t, err)
	_, err = TCPServer(addr, ListenOptions{})
	require.ErrorIs(t, err, windows.WSAEADDRINUSE)
	require.True(t, strings.Contains(err.Error(), "bind"), err.Error())
	require.NoError(t, Close(lfd))
	lfd, err = TCPServer(addr, ListenOptions{})
	require.NoError(t, err)
	require.NoError(t, Close(lfd))
}
