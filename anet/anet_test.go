//go:build unix

package anet

import (
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestTCPServerPortZero(t *testing.T) {
	f := newFds(t)
	lfd := f.own(TCPServer("127.0.0.1:0", ListenOptions{}))
	requireNewFdFlags(t, lfd)
	require.NotZero(t, getInt(t, lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR), "SO_REUSEADDR")
	port, err := Port(lfd)
	require.NoError(t, err)
	require.Greater(t, port, 0)
	require.LessOrEqual(t, port, 65535)
	addr, err := LocalAddr(lfd)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:"+strconv.Itoa(port), addr)

	_, err = PeerAddr(lfd)
	require.ErrorIs(t, err, unix.ENOTCONN, "a listener has no peer")
	require.ErrorContains(t, err, "getpeername")

	// "localhost" and an empty host (every IPv4 address) also listen.
	for _, a := range []string{"localhost:0", ":0", "*:0"} {
		fd := f.own(TCPServer(a, ListenOptions{Backlog: 16}))
		p, err := Port(fd)
		require.NoError(t, err, a)
		require.NotZero(t, p, a)
	}
}

func TestTCPServerAddrInUse(t *testing.T) {
	f := newFds(t)
	_, addr := f.listen()
	_, err := TCPServer(addr, ListenOptions{})
	require.ErrorIs(t, err, unix.EADDRINUSE)
	require.ErrorContains(t, err, "bind")
	require.ErrorContains(t, err, addr)
}

func TestAcceptWouldBlock(t *testing.T) {
	f := newFds(t)
	lfd, _ := f.listen()
	fd, err := Accept(lfd)
	require.Equal(t, -1, fd)
	require.ErrorIs(t, err, unix.EAGAIN)
	require.ErrorIs(t, err, unix.EWOULDBLOCK)
	require.ErrorIs(t, err, ErrWouldBlock)
	require.ErrorContains(t, err, "would block")
	_, sa, err := AcceptAddr(lfd)
	require.ErrorIs(t, err, ErrWouldBlock)
	require.Nil(t, sa)

	// The empty-queue path is the last call of every accept loop: it must
	// not allocate.
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Accept(lfd); err != ErrWouldBlock {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}

func TestConnectAccept(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	client, server := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })
	requireNewFdFlags(t, client)
	requireNewFdFlags(t, server)

	sendRecv(t, client, server, "PING")
	sendRecv(t, server, client, "+PONG\r\n")

	cl, sl := requireLinked(t, client, server)
	require.True(t, strings.HasPrefix(cl, "127.0.0.1:"), cl)
	require.Equal(t, addr, sl)

	// A second connection, accepted with its address.
	c2 := f.own(TCPConnect(addr))
	waitFor(t, lfd, unix.POLLIN)
	s2, sa, err := AcceptAddr(lfd)
	f.own(s2, err)
	requireNewFdFlags(t, s2)
	require.Equal(t, addrOf(t, LocalAddr, c2), FormatAddr(sa))
	_, err = Accept(lfd)
	require.ErrorIs(t, err, ErrWouldBlock, "both connections taken")
}

func TestConnectRefused(t *testing.T) {
	f := newFds(t)
	addr := closedPort(t)
	fd, err := TCPConnect(addr)
	if err != nil {
		// Some kernels report a loopback refusal at once.
		t.Logf("refused at once: %v", err)
		require.ErrorIs(t, err, unix.ECONNREFUSED)
		require.ErrorContains(t, err, "connect")
		return
	}
	f.own(fd, nil)
	requireNewFdFlags(t, fd)
	waitFor(t, fd, unix.POLLOUT)
	err = SockError(fd)
	require.ErrorIs(t, err, unix.ECONNREFUSED)
	require.ErrorContains(t, err, "SO_ERROR")
	require.NoError(t, SockError(fd), "SO_ERROR is cleared by reading it")
}

func TestTCPConnectFrom(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	client, server := f.pair(lfd, func() (int, error) { return TCPConnectFrom(addr, "127.0.0.1:0") })
	requireNewFdFlags(t, client)
	cl, _ := requireLinked(t, client, server)
	require.True(t, strings.HasPrefix(cl, "127.0.0.1:"), cl)

	_, err := TCPConnectFrom(addr, "[::1]:0")
	require.ErrorIs(t, err, ErrAddr, "IPv4 destination, IPv6 source")
	_, err = TCPConnectFrom(addr, "nonsense")
	require.ErrorIs(t, err, ErrAddr)
}

func TestIPv6(t *testing.T) {
	f := newFds(t)
	lfd, err := TCPServer("[::1]:0", ListenOptions{V6Only: true})
	if err != nil {
		t.Skipf("IPv6 loopback ::1 cannot be bound on this machine, skipping the IPv6 test: %v", err)
	}
	f.own(lfd, nil)
	requireNewFdFlags(t, lfd)
	require.NotZero(t, getInt(t, lfd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY), "IPV6_V6ONLY")
	port, err := Port(lfd)
	require.NoError(t, err)
	addr, err := LocalAddr(lfd)
	require.NoError(t, err)
	require.Equal(t, "[::1]:"+strconv.Itoa(port), addr)

	client, server := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })
	requireNewFdFlags(t, server)
	sendRecv(t, client, server, "PING")
	cl, sl := requireLinked(t, client, server)
	require.True(t, strings.HasPrefix(cl, "[::1]:"), cl)
	require.Equal(t, addr, sl)

	// A refused IPv6 connect reports ECONNREFUSED too.
	f.close(lfd)
	fd, err := TCPConnect(addr)
	if err == nil {
		f.own(fd, nil)
		waitFor(t, fd, unix.POLLOUT)
		err = SockError(fd)
	}
	require.ErrorIs(t, err, unix.ECONNREFUSED)
}

func TestUnixServer(t *testing.T) {
	f := newFds(t)
	path := sockPath(t)
	lfd := f.own(UnixServer(path, 0o600, ListenOptions{}))
	requireNewFdFlags(t, lfd)
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, os.ModeSocket, fi.Mode().Type())
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	client, server := f.pair(lfd, func() (int, error) { return UnixConnect(path) })
	requireNewFdFlags(t, client)
	requireNewFdFlags(t, server)
	sendRecv(t, client, server, "PING")

	for _, c := range []struct {
		name string
		get  func(int) (string, error)
		fd   int
		want string
	}{
		{"listener local", LocalAddr, lfd, path},
		{"client peer", PeerAddr, client, path},
		{"client local (unnamed)", LocalAddr, client, ""},
		{"server local", LocalAddr, server, path},
		{"server peer (unnamed)", PeerAddr, server, ""},
	} {
		got, err := c.get(c.fd)
		require.NoError(t, err, c.name)
		require.Equal(t, c.want, got, c.name)
	}

	_, err = Port(lfd)
	require.ErrorIs(t, err, unix.EAFNOSUPPORT, "Port of a Unix socket")
	require.ErrorIs(t, SockError(client), nil)
}

func TestUnixStaleSocketRemoved(t *testing.T) {
	f := newFds(t)
	path := sockPath(t)
	// A server that died: its socket file stays, nobody listens.
	old, err := UnixServer(path, 0, ListenOptions{})
	require.NoError(t, err)
	require.NoError(t, unix.Close(old))
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.Equal(t, os.ModeSocket, fi.Mode().Type())

	lfd := f.own(UnixServer(path, 0, ListenOptions{}))
	_, server := f.pair(lfd, func() (int, error) { return UnixConnect(path) })
	requireNewFdFlags(t, server)
}

func TestUnixLiveSocketKept(t *testing.T) {
	f := newFds(t)
	path := sockPath(t)
	lfd := f.own(UnixServer(path, 0, ListenOptions{}))
	_, err := UnixServer(path, 0, ListenOptions{})
	require.ErrorIs(t, err, unix.EADDRINUSE)
	require.ErrorContains(t, err, "listening")

	// The probe's connection is queued; drop it. The first listener still
	// owns the path and serves.
	waitFor(t, lfd, unix.POLLIN)
	f.own(Accept(lfd))
	f.pair(lfd, func() (int, error) { return UnixConnect(path) })
}

func TestUnixRegularFileKept(t *testing.T) {
	path := sockPath(t)
	require.NoError(t, os.WriteFile(path, []byte("keep me"), 0o600))
	_, err := UnixServer(path, 0, ListenOptions{})
	require.ErrorIs(t, err, unix.EADDRINUSE)
	require.ErrorContains(t, err, "not removed")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "keep me", string(b))

	dir := sockPath(t)
	require.NoError(t, os.Mkdir(dir, 0o700))
	_, err = UnixServer(dir, 0, ListenOptions{})
	require.ErrorIs(t, err, unix.EADDRINUSE)
	fi, err := os.Stat(dir)
	require.NoError(t, err)
	require.True(t, fi.IsDir())
}

func TestUnixConnectNobody(t *testing.T) {
	path := sockPath(t)
	_, err := UnixConnect(path)
	require.ErrorIs(t, err, unix.ENOENT)
	require.ErrorContains(t, err, "connect")
}

func TestUnixAbstract(t *testing.T) {
	if !abstractUnix {
		t.Skip("no abstract Unix socket namespace on this OS")
	}
	f := newFds(t)
	name := "@anet-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	lfd := f.own(UnixServer(name, 0o600, ListenOptions{}))
	client, _ := f.pair(lfd, func() (int, error) { return UnixConnect(name) })
	got, err := PeerAddr(client)
	require.NoError(t, err)
	require.Equal(t, name, got)
}

func TestBadAddresses(t *testing.T) {
	tcp := []string{
		"nonsense", "1.2.3.4", "127.0.0.1:99999", "[::1", "", "example.com:80",
		"127.0.0.1:-1", "127.0.0.1:http", "127.0.0.1:", "1.2.3.4.5:80", "::1:80",
		"[fe80::1%eth0]:80", "[::1]:65536",
	}
	for _, a := range tcp {
		_, err := TCPServer(a, ListenOptions{})
		require.ErrorIs(t, err, ErrAddr, "TCPServer(%q)", a)
		_, err = TCPConnect(a)
		require.ErrorIs(t, err, ErrAddr, "TCPConnect(%q)", a)
	}
	for _, a := range []string{"127.0.0.1:0", "*:6379", "[::*]:6379"} {
		_, err := TCPConnect(a)
		require.ErrorIs(t, err, ErrAddr, "TCPConnect(%q)", a)
	}
	unixPaths := []string{"", "a\x00b", "/tmp/" + strings.Repeat("x", 200)}
	if abstractUnix {
		unixPaths = append(unixPaths, "@")
	}
	for _, p := range unixPaths {
		_, err := UnixServer(p, 0, ListenOptions{})
		require.ErrorIs(t, err, ErrAddr, "UnixServer(%q)", p)
		_, err = UnixConnect(p)
		require.ErrorIs(t, err, ErrAddr, "UnixConnect(%q)", p)
	}
	_, err := TCPServer("nonsense", ListenOptions{})
	require.ErrorContains(t, err, `"nonsense"`, "the error names the address")
}

func TestBadFd(t *testing.T) {
	calls := map[string]func(fd int) error{
		"Accept":      func(fd int) error { _, err := Accept(fd); return err },
		"AcceptAddr":  func(fd int) error { _, _, err := AcceptAddr(fd); return err },
		"NonBlock":    func(fd int) error { return NonBlock(fd, true) },
		"Cloexec":     Cloexec,
		"TCPNoDelay":  func(fd int) error { return TCPNoDelay(fd, true) },
		"KeepAlive":   func(fd int) error { return KeepAlive(fd, time.Minute) },
		"SendBuffer":  func(fd int) error { return SendBuffer(fd, 4096) },
		"RecvBuffer":  func(fd int) error { return RecvBuffer(fd, 4096) },
		"SockError":   SockError,
		"PeerAddr":    func(fd int) error { _, err := PeerAddr(fd); return err },
		"LocalAddr":   func(fd int) error { _, err := LocalAddr(fd); return err },
		"Port":        func(fd int) error { _, err := Port(fd); return err },
		"SendBuffer-": func(fd int) error { return SendBuffer(fd, -1) },
	}
	bad := []int{-1, math.MinInt32}
	if strconv.IntSize == 64 {
		// Would be truncated to a real fd (3) by a kernel taking a C int.
		big := uint64(1)<<32 | 3
		bad = append(bad, int(big))
	}
	for name, call := range calls {
		for _, fd := range bad {
			err := call(fd)
			require.ErrorIs(t, err, unix.EBADF, "%s(%d)", name, fd)
			require.ErrorContains(t, err, "anet: ", "%s(%d)", name, fd)
			require.ErrorContains(t, err, strconv.Itoa(fd), "%s(%d) names the fd", name, fd)
		}
	}
	// A closed fd reaches the kernel, which says EBADF too.
	f := newFds(t)
	lfd, _ := f.listen()
	f.close(lfd)
	delete(calls, "SendBuffer-") // the size is checked first: EINVAL
	for name, call := range calls {
		require.ErrorIs(t, call(lfd), unix.EBADF, "%s on a closed fd", name)
	}
}

func TestReusePort(t *testing.T) {
	f := newFds(t)
	o := ListenOptions{ReusePort: true}
	l1 := f.own(TCPServer("127.0.0.1:0", o))
	require.NotZero(t, getInt(t, l1, unix.SOL_SOCKET, soReusePort), soReusePortName)
	addr, err := LocalAddr(l1)
	require.NoError(t, err)
	l2 := f.own(TCPServer(addr, o))
	a2, err := LocalAddr(l2)
	require.NoError(t, err)
	require.Equal(t, addr, a2)

	// A connection lands on one of the two, whichever the kernel picks.
	client := f.own(TCPConnect(addr))
	pfd := []unix.PollFd{{Fd: int32(l1), Events: unix.POLLIN}, {Fd: int32(l2), Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, int(soon.Milliseconds()))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	lfd := l1
	if pfd[1].Revents&unix.POLLIN != 0 {
		lfd = l2
	}
	server := f.own(Accept(lfd))
	waitFor(t, client, unix.POLLOUT)
	require.NoError(t, SockError(client))
	sendRecv(t, client, server, "PING")

	_, err = TCPServer(addr, ListenOptions{})
	require.ErrorIs(t, err, unix.EADDRINUSE, "without ReusePort the port stays taken")
}
