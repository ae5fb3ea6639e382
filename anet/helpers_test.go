//go:build unix

package anet

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// soon bounds every wait for loopback traffic, far above the microseconds
// it takes, so that a broken test fails instead of hanging.
const soon = 5 * time.Second

// fds tracks the fds a test owns, so its cleanup closes exactly those: a
// number the test closed itself may have been reused by then.
type fds struct {
	t    *testing.T
	open map[int]bool
}

// newFds returns an fd tracker whose fds are closed when t ends.
// errConnRefused is what a connect to a port nobody listens on fails with.
var errConnRefused error = unix.ECONNREFUSED

func newFds(t *testing.T) *fds {
	f := &fds{t: t, open: map[int]bool{}}
	t.Cleanup(func() {
		for fd := range f.open {
			unix.Close(fd)
		}
	})
	return f
}

// own takes fd, returned with err, into the tracker; err must be nil.
func (f *fds) own(fd int, err error) int {
	f.t.Helper()
	require.NoError(f.t, err)
	require.GreaterOrEqual(f.t, fd, 0)
	f.open[fd] = true
	return fd
}

// close closes an owned fd now.
func (f *fds) close(fd int) {
	f.t.Helper()
	require.True(f.t, f.open[fd], "fd %d is not owned", fd)
	delete(f.open, fd)
	require.NoError(f.t, unix.Close(fd))
}

// listen makes a TCP listener on 127.0.0.1 with an ephemeral port and
// returns it with its address.
func (f *fds) listen() (int, string) {
	f.t.Helper()
	lfd := f.own(TCPServer("127.0.0.1:0", ListenOptions{}))
	addr, err := LocalAddr(lfd)
	require.NoError(f.t, err)
	return lfd, addr
}

// pair connects to the listener lfd at addr with connect, accepts, and
// returns the client and server ends once the connect has completed.
func (f *fds) pair(lfd int, connect func() (int, error)) (client, server int) {
	f.t.Helper()
	client = f.own(connect())
	waitFor(f.t, lfd, unix.POLLIN)
	server = f.own(Accept(lfd))
	waitFor(f.t, client, unix.POLLOUT)
	require.NoError(f.t, SockError(client))
	return client, server
}

// waitFor polls fd until one of events (or an error or hang-up) is
// reported, failing the test after soon.
func waitFor(t *testing.T, fd int, events int16) int16 {
	t.Helper()
	deadline := time.Now().Add(soon)
	for {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(pfd, int(time.Until(deadline).Milliseconds())+1)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		require.NoError(t, err)
		require.Equal(t, 1, n, "fd %d not ready for %#x within %v", fd, events, soon)
		return pfd[0].Revents
	}
}

// requireNewFdFlags checks that fd is non-blocking and close-on-exec, as
// every fd anet makes must be.
func requireNewFdFlags(t *testing.T, fd int) {
	t.Helper()
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	require.NoError(t, err)
	require.NotZero(t, fl&unix.O_NONBLOCK, "fd %d is blocking", fd)
	fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	require.NoError(t, err)
	require.NotZero(t, fdfl&unix.FD_CLOEXEC, "fd %d is not close-on-exec", fd)
}

// getInt reads an int socket option.
func getInt(t *testing.T, fd, level, opt int) int {
	t.Helper()
	v, err := unix.GetsockoptInt(fd, level, opt)
	require.NoError(t, err)
	return v
}

// closedPort returns a loopback port nobody listens on: one the kernel
// just handed out and that was closed again.
func closedPort(t *testing.T) string {
	t.Helper()
	lfd, err := TCPServer("127.0.0.1:0", ListenOptions{})
	require.NoError(t, err)
	addr, err := LocalAddr(lfd)
	require.NoError(t, err)
	require.NoError(t, unix.Close(lfd))
	return addr
}

// sendRecv writes msg on from and reads it back on to.
func sendRecv(t *testing.T, from, to int, msg string) {
	t.Helper()
	n, err := unix.Write(from, []byte(msg))
	require.NoError(t, err)
	require.Equal(t, len(msg), n)
	waitFor(t, to, unix.POLLIN)
	buf := make([]byte, 64)
	n, err = unix.Read(to, buf)
	require.NoError(t, err)
	require.Equal(t, msg, string(buf[:n]))
}

// sockPath returns a Unix socket path in a fresh temporary directory,
// short enough for every OS's sun_path.
func sockPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "anet")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := dir + "/s.sock"
	require.Less(t, len(p), maxUnixPath, "temp dir path too long for a Unix socket")
	return p
}

// requireLinked checks that each end's local address is the other's peer
// address, and returns the client's and the server's local addresses.
func requireLinked(t *testing.T, client, server int) (clientAddr, serverAddr string) {
	t.Helper()
	clientAddr = addrOf(t, LocalAddr, client)
	serverAddr = addrOf(t, LocalAddr, server)
	require.Equal(t, clientAddr, addrOf(t, PeerAddr, server), "client's local = server's peer")
	require.Equal(t, serverAddr, addrOf(t, PeerAddr, client), "server's local = client's peer")
	return clientAddr, serverAddr
}

// addrOf returns get(fd), LocalAddr or PeerAddr, which must not fail.
func addrOf(t *testing.T, get func(int) (string, error), fd int) string {
	t.Helper()
	a, err := get(fd)
	require.NoError(t, err)
	return a
}
