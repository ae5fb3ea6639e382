//go:build unix

package anet

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// Resolve returns literals as they are, looks service names up, and
// refuses what is not a host and a service. Only loopback names and
// literals: tests make no outside DNS lookups.
func TestResolve(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		host, service string
		want          netip.AddrPort
	}{
		{"127.0.0.1", "8080", netip.MustParseAddrPort("127.0.0.1:8080")},
		{"::1", "http", netip.MustParseAddrPort("[::1]:80")},
		{"::ffff:127.0.0.1", "https", netip.MustParseAddrPort("127.0.0.1:443")},
		{"localhost", "6379", netip.MustParseAddrPort("127.0.0.1:6379")},
	} {
		got, err := Resolve(ctx, tc.host, tc.service)
		require.NoError(t, err, "%s %s", tc.host, tc.service)
		assert.Contains(t, got, tc.want, "%s %s", tc.host, tc.service)
		if tc.host != "localhost" {
			assert.Len(t, got, 1, "a literal is returned alone")
		}
	}
	for _, tc := range [][2]string{{"", "80"}, {"127.0.0.1", ""}, {"127.0.0.1", "65536"}} {
		_, err := Resolve(ctx, tc[0], tc[1])
		assert.ErrorIs(t, err, ErrAddr, "%q %q", tc[0], tc[1])
	}
	_, err := Resolve(ctx, "127.0.0.1", "no-such-service-anet")
	var dnsErr *net.DNSError
	assert.True(t, errors.As(err, &dnsErr), "unknown service: %v", err)
}

// TCPConnectAddr connects to a resolved address, over IPv4 and IPv6.
func TestTCPConnectAddr(t *testing.T) {
	f := newFds(t)
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		lfd, err := TCPServer(host+":0", ListenOptions{})
		if host == "[::1]" && errors.Is(err, unix.EADDRNOTAVAIL) {
			t.Log("no IPv6 loopback here: IPv6 case not run")
			continue
		}
		f.own(lfd, err)
		addr, err := LocalAddr(lfd)
		require.NoError(t, err)
		ap := netip.MustParseAddrPort(addr)
		client, server := f.pair(lfd, func() (int, error) { return TCPConnectAddr(ap) })
		requireNewFdFlags(t, client)
		_, serverAddr := requireLinked(t, client, server)
		assert.Equal(t, addr, serverAddr)
		sendRecv(t, client, server, "ping")
	}
	for _, ap := range []netip.AddrPort{{}, netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("[fe80::1%eth0]:80")} {
		fd, err := TCPConnectAddr(ap)
		assert.ErrorIs(t, err, ErrAddr, "%v", ap)
		assert.Equal(t, -1, fd)
	}
}

// TCPConnectTimeout returns a connected non-blocking socket, the refusal,
// or, when nothing answers, ETIMEDOUT after about the timeout.
func TestTCPConnectTimeout(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	ap := netip.MustParseAddrPort(addr)
	fd := f.own(TCPConnectTimeout(ap, soon))
	requireNewFdFlags(t, fd)
	server := f.own(Accept(lfd))
	sendRecv(t, server, fd, "connected")

	_, err := TCPConnectTimeout(netip.MustParseAddrPort(closedPort(t)), soon)
	assert.ErrorIs(t, err, unix.ECONNREFUSED)

	if runtime.GOOS != "linux" {
		t.Skip("the no-answer case needs Linux, which drops SYNs to a listener whose accept queue is full")
	}
	// A listener with backlog 1 and two connections nobody accepted: Linux
	// drops the next SYN, so the connect neither succeeds nor fails.
	full := f.own(TCPServer("127.0.0.1:0", ListenOptions{Backlog: 1}))
	faddr, err := LocalAddr(full)
	require.NoError(t, err)
	fap := netip.MustParseAddrPort(faddr)
	for range 2 {
		f.own(TCPConnectTimeout(fap, soon))
	}
	start := time.Now()
	fd, err = TCPConnectTimeout(fap, 200*time.Millisecond)
	took := time.Since(start)
	assert.Equal(t, -1, fd)
	assert.ErrorIs(t, err, unix.ETIMEDOUT)
	assert.GreaterOrEqual(t, took, 200*time.Millisecond)
	assert.Less(t, took, soon)
}

// Pending counts the bytes waiting in a socket's receive buffer.
func TestPending(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	client, server := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })
	n, err := Pending(server)
	require.NoError(t, err)
	assert.Zero(t, n)
	_, err = unix.Write(client, []byte("12345"))
	require.NoError(t, err)
	waitFor(t, server, unix.POLLIN)
	n, err = Pending(server)
	require.NoError(t, err)
	assert.Equal(t, 5, n)
	buf := make([]byte, 2)
	_, err = unix.Read(server, buf)
	require.NoError(t, err)
	n, err = Pending(server)
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	// Unix stream sockets too.
	var sp [2]int
	sp, err = unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	f.own(sp[0], nil)
	f.own(sp[1], nil)
	_, err = unix.Write(sp[0], []byte("abc"))
	require.NoError(t, err)
	n, err = Pending(sp[1])
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	for _, bad := range []int{-1, 1 << 40} {
		_, err = Pending(bad)
		assert.ErrorIs(t, err, unix.EBADF)
	}
	if runtime.GOOS == "linux" {
		_, err = Pending(lfd)
		assert.ErrorIs(t, err, unix.EINVAL, "a listener has no receive queue")
	}
}

// NetConn hands a loop's connection to net: the Conn works both ways, and
// the fd is closed; a pipe is refused and left open.
func TestNetConn(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	client, server := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })
	c, err := NetConn(server)
	require.NoError(t, err)
	delete(f.open, server) // NetConn closed it
	defer c.Close()
	require.IsType(t, &net.TCPConn{}, c)
	assert.Equal(t, addr, c.LocalAddr().String())
	_, err = unix.FcntlInt(uintptr(server), unix.F_GETFD, 0)
	assert.ErrorIs(t, err, unix.EBADF, "the fd handed over is closed")

	require.NoError(t, c.SetDeadline(time.Now().Add(soon)))
	_, err = c.Write([]byte("from net"))
	require.NoError(t, err)
	waitFor(t, client, unix.POLLIN)
	buf := make([]byte, 16)
	n, err := unix.Read(client, buf)
	require.NoError(t, err)
	assert.Equal(t, "from net", string(buf[:n]))
	_, err = unix.Write(client, []byte("from fd"))
	require.NoError(t, err)
	n, err = c.Read(buf)
	require.NoError(t, err)
	assert.Equal(t, "from fd", string(buf[:n]))

	var p [2]int
	require.NoError(t, unix.Pipe(p[:]))
	f.own(p[0], nil)
	f.own(p[1], nil)
	_, err = NetConn(p[0])
	assert.ErrorIs(t, err, unix.ENOTSOCK)
	_, err = unix.FcntlInt(uintptr(p[0]), unix.F_GETFD, 0)
	assert.NoError(t, err, "a refused fd stays open")
	_, err = NetConn(-1)
	assert.ErrorIs(t, err, unix.EBADF)
}

// NetListener hands a listener to net; a Unix one keeps its file when
// closed.
func TestNetListener(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	ln, err := NetListener(lfd)
	require.NoError(t, err)
	delete(f.open, lfd)
	defer ln.Close()
	assert.Equal(t, addr, ln.Addr().String())
	d, err := net.DialTimeout("tcp", addr, soon)
	require.NoError(t, err)
	defer d.Close()
	c, err := ln.Accept()
	require.NoError(t, err)
	c.Close()

	path := sockPath(t)
	ufd, err := UnixServer(path, 0, ListenOptions{})
	require.NoError(t, err)
	uln, err := NetListener(ufd)
	require.NoError(t, err)
	require.IsType(t, &net.UnixListener{}, uln)
	require.NoError(t, uln.Close())
	_, err = os.Lstat(path)
	assert.NoError(t, err, "the socket file is the caller's")
}

// FromNet takes connections and listeners from net for the loop, and
// refuses what has no fd.
func TestFromNet(t *testing.T) {
	f := newFds(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	lfd := f.own(FromNet(ln))
	requireNewFdFlags(t, lfd)
	_, err = ln.Accept()
	assert.ErrorIs(t, err, net.ErrClosed, "the net.Listener is closed")
	addr := ln.Addr().String()
	client, server := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })
	sendRecv(t, client, server, "loop owns it")

	d, err := net.DialTimeout("tcp", addr, soon)
	require.NoError(t, err)
	dfd := f.own(FromNet(d))
	requireNewFdFlags(t, dfd)
	peer := f.own(Accept(lfd))
	sendRecv(t, dfd, peer, "was a net.Conn")
	sendRecv(t, peer, dfd, "and back")
	_, err = d.Write([]byte("x"))
	assert.ErrorIs(t, err, net.ErrClosed, "the net.Conn is closed")
	_, err = FromNet(d)
	assert.ErrorIs(t, err, net.ErrClosed)

	path := sockPath(t)
	uln, err := net.Listen("unix", path)
	require.NoError(t, err)
	f.own(FromNet(uln))
	_, err = os.Lstat(path)
	assert.NoError(t, err, "the socket file is kept")

	a, b := net.Pipe()
	defer b.Close()
	_, err = FromNet(a)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	a.Close()
}
