package anet

import (
	"errors"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// These tests use anet's own calls only (Close, Read, Write, and
// mux.WaitFd to wait), so they run unchanged on every OS, Windows (under
// Wine in CI) included.

// closeLater closes fd when the test ends.
func closeLater(t *testing.T, fd int) {
	t.Helper()
	t.Cleanup(func() { Close(fd) })
}

// waitReady waits up to 5 s for fd to be ready for mask.
func waitReady(t *testing.T, fd int, mask event.Mask) {
	t.Helper()
	ready, err := mux.WaitFd(fd, mask, 5*time.Second)
	require.NoError(t, err)
	require.NotEqual(t, event.None, ready, "fd %d not ready for %v within 5 s", fd, mask)
}

// pair makes a listener on addr's loopback and a connected client and
// server fd pair through it.
func pair(t *testing.T, host string) (lfd, client, server int) {
	t.Helper()
	lfd, err := TCPServer(host+":0", ListenOptions{})
	require.NoError(t, err)
	closeLater(t, lfd)
	addr, err := LocalAddr(lfd)
	require.NoError(t, err)
	client, err = TCPConnect(addr)
	require.NoError(t, err)
	closeLater(t, client)
	waitReady(t, lfd, event.Readable)
	server, err = Accept(lfd)
	require.NoError(t, err)
	closeLater(t, server)
	waitReady(t, client, event.Writable)
	require.NoError(t, SockError(client))
	return lfd, client, server
}

func TestPortableConnectAcceptExchange(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "[::1]"} {
		t.Run(host, func(t *testing.T) {
			lfd, client, server := pair(t, host)
			port, err := Port(lfd)
			require.NoError(t, err)
			require.NotZero(t, port)
			local, err := LocalAddr(client)
			require.NoError(t, err)
			peer, err := PeerAddr(server)
			require.NoError(t, err)
			require.Equal(t, local, peer, "the server sees the client's address")
			ap := netip.MustParseAddrPort(peer)
			require.Equal(t, host == "[::1]", ap.Addr().Is6())

			// Nothing to read yet: ErrWouldBlock, the same value on every OS.
			buf := make([]byte, 64)
			n, err := Read(server, buf)
			require.Equal(t, 0, n)
			require.True(t, err == ErrWouldBlock, "Read with nothing pending: %v", err)
			require.ErrorIs(t, err, syscall.EAGAIN)

			n, err = Write(client, []byte("PING\r\n"))
			require.NoError(t, err)
			require.Equal(t, 6, n)
			waitReady(t, server, event.Readable)
			pending, err := Pending(server)
			require.NoError(t, err)
			require.Equal(t, 6, pending)
			n, err = Read(server, buf)
			require.NoError(t, err)
			require.Equal(t, "PING\r\n", string(buf[:n]))

			// The peer's close reads as 0, nil (EOF).
			require.NoError(t, Close(client))
			waitReady(t, server, event.Readable)
			n, err = Read(server, buf)
			require.NoError(t, err)
			require.Equal(t, 0, n)
		})
	}
}

func TestPortableAcceptAddrAndWouldBlock(t *testing.T) {
	lfd, err := TCPServer("127.0.0.1:0", ListenOptions{Backlog: 4})
	require.NoError(t, err)
	closeLater(t, lfd)
	_, err = Accept(lfd)
	require.True(t, err == ErrWouldBlock, "Accept with nothing pending: %v", err)
	addr, err := LocalAddr(lfd)
	require.NoError(t, err)
	client, err := TCPConnectFrom(addr, "127.0.0.1:0")
	require.NoError(t, err)
	closeLater(t, client)
	waitReady(t, lfd, event.Readable)
	fd, sa, err := AcceptAddr(lfd)
	require.NoError(t, err)
	closeLater(t, fd)
	local, err := LocalAddr(client)
	require.NoError(t, err)
	require.Equal(t, local, FormatAddr(sa))
	for _, on := range []bool{true, false} {
		require.NoError(t, TCPNoDelay(fd, on))
		require.NoError(t, NonBlock(fd, on))
	}
	require.NoError(t, NonBlock(fd, true))
	require.NoError(t, KeepAlive(fd, 1500*time.Millisecond))
	require.NoError(t, KeepAlive(fd, 0))
	require.NoError(t, SendBuffer(fd, 1<<16))
	require.NoError(t, RecvBuffer(fd, 1<<16))
	require.NoError(t, Cloexec(fd))
}

func TestPortableConnectRefusedAndTimeout(t *testing.T) {
	lfd, err := TCPServer("127.0.0.1:0", ListenOptions{})
	require.NoError(t, err)
	port, err := Port(lfd)
	require.NoError(t, err)
	require.NoError(t, Close(lfd)) // nobody listens on port any more
	ap := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
	_, err = TCPConnectTimeout(ap, 5*time.Second)
	require.ErrorIs(t, err, errConnRefused)

	lfd, err = TCPServer("127.0.0.1:0", ListenOptions{})
	require.NoError(t, err)
	closeLater(t, lfd)
	port, err = Port(lfd)
	require.NoError(t, err)
	fd, err := TCPConnectTimeout(netip.AddrPortFrom(ap.Addr(), uint16(port)), 5*time.Second)
	require.NoError(t, err)
	closeLater(t, fd)
	n, err := Write(fd, []byte("x"))
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestPortableBadInput(t *testing.T) {
	for _, fd := range []int{-1, 1 << 40} {
		_, err := Read(fd, make([]byte, 1))
		require.ErrorIs(t, err, errBadFd)
		_, err = Write(fd, []byte("x"))
		require.ErrorIs(t, err, errBadFd)
		require.ErrorIs(t, Close(fd), errBadFd)
		require.ErrorIs(t, NonBlock(fd, true), errBadFd)
		require.ErrorIs(t, SockError(fd), errBadFd)
		_, err = Pending(fd)
		require.ErrorIs(t, err, errBadFd)
		_, err = Accept(fd)
		require.ErrorIs(t, err, errBadFd)
	}
	n, err := Read(-1, nil)
	require.Equal(t, 0, n)
	require.NoError(t, err, "an empty read makes no call")
	_, err = TCPServer("nohost:1", ListenOptions{})
	require.ErrorIs(t, err, ErrAddr)
	_, err = TCPConnect("127.0.0.1:0")
	require.ErrorIs(t, err, ErrAddr)
	require.False(t, errors.Is(ErrWouldBlock, ErrAddr))
}

// The busy paths of a handler, Read and Write that would block and Read
// and Write that move bytes, allocate nothing.
func TestPortableReadWriteAllocs(t *testing.T) {
	_, client, server := pair(t, "127.0.0.1")
	buf := make([]byte, 16)
	msg := []byte("x")
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := Read(server, buf); err != ErrWouldBlock {
			panic(err)
		}
	})
	require.Zero(t, allocs)
	allocs = testing.AllocsPerRun(50, func() {
		if _, err := Write(client, msg); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
	waitReady(t, server, event.Readable)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		p, err := Pending(server)
		require.NoError(t, err)
		if p >= 51 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	allocs = testing.AllocsPerRun(10, func() {
		if n, err := Read(server, buf[:1]); n != 1 || err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs)
}
