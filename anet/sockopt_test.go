//go:build unix

package anet

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestTCPNoDelay(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	client, server := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })
	for _, fd := range []int{client, server} {
		require.NoError(t, TCPNoDelay(fd, true))
		require.NotZero(t, getInt(t, fd, unix.IPPROTO_TCP, unix.TCP_NODELAY))
		require.NoError(t, TCPNoDelay(fd, false))
		require.Zero(t, getInt(t, fd, unix.IPPROTO_TCP, unix.TCP_NODELAY))
	}
}

func TestKeepAlive(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	_, fd := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })

	// interval <= 0: SO_KEEPALIVE only, the timers stay as they were.
	var idle0 int
	if keepAliveTimers {
		idle0 = getInt(t, fd, unix.IPPROTO_TCP, tcpKeepIdle)
	}
	require.NoError(t, KeepAlive(fd, 0))
	require.NotZero(t, getInt(t, fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE))
	if keepAliveTimers {
		require.Equal(t, idle0, getInt(t, fd, unix.IPPROTO_TCP, tcpKeepIdle))
	}

	for _, c := range []struct {
		interval            time.Duration
		idle, intvl, probes int
	}{
		{300 * time.Second, 300, 100, 3}, // Redis's default tcp-keepalive
		{100 * time.Second, 100, 33, 3},
		{1500 * time.Millisecond, 2, 1, 3}, // rounded up to whole seconds
		{time.Nanosecond, 1, 1, 3},
		{1000 * time.Hour, maxKeepIdle, maxKeepIdle / 3, 3},
	} {
		require.NoError(t, KeepAlive(fd, c.interval), "%v", c.interval)
		require.NotZero(t, getInt(t, fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE))
		if !keepAliveTimers {
			continue
		}
		require.Equal(t, c.idle, getInt(t, fd, unix.IPPROTO_TCP, tcpKeepIdle), "%s for %v", tcpKeepIdleName, c.interval)
		require.Equal(t, c.intvl, getInt(t, fd, unix.IPPROTO_TCP, tcpKeepIntvl), "TCP_KEEPINTVL for %v", c.interval)
		require.Equal(t, c.probes, getInt(t, fd, unix.IPPROTO_TCP, tcpKeepCnt), "TCP_KEEPCNT for %v", c.interval)
	}
}

func TestBuffers(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	_, fd := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })
	const n = 64 << 10
	require.NoError(t, SendBuffer(fd, n))
	require.GreaterOrEqual(t, getInt(t, fd, unix.SOL_SOCKET, unix.SO_SNDBUF), n)
	require.NoError(t, RecvBuffer(fd, n))
	require.GreaterOrEqual(t, getInt(t, fd, unix.SOL_SOCKET, unix.SO_RCVBUF), n)
	require.ErrorIs(t, SendBuffer(fd, -1), unix.EINVAL)
	require.ErrorIs(t, RecvBuffer(fd, math.MinInt), unix.EINVAL)
}

func TestNonBlockCloexec(t *testing.T) {
	f := newFds(t)
	lfd, _ := f.listen()
	// unix.Dup makes an fd without FD_CLOEXEC; O_NONBLOCK belongs to the
	// open file, so the duplicate shares it.
	fd := f.own(unix.Dup(lfd))
	flags := func() (nonblock, cloexec bool) {
		fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		require.NoError(t, err)
		fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		require.NoError(t, err)
		return fl&unix.O_NONBLOCK != 0, fdfl&unix.FD_CLOEXEC != 0
	}
	nb, ce := flags()
	require.True(t, nb)
	require.False(t, ce)
	require.NoError(t, Cloexec(fd))
	require.NoError(t, Cloexec(fd), "again: no change")
	require.NoError(t, NonBlock(fd, false))
	nb, ce = flags()
	require.False(t, nb)
	require.True(t, ce)
	require.NoError(t, NonBlock(fd, true))
	nb, _ = flags()
	require.True(t, nb)
}

func TestFormatAddr(t *testing.T) {
	type addrCase struct {
		sa   unix.Sockaddr
		want string
	}
	cases := []addrCase{
		{&unix.SockaddrInet4{Port: 6379, Addr: [4]byte{127, 0, 0, 1}}, "127.0.0.1:6379"},
		{&unix.SockaddrInet4{}, "0.0.0.0:0"},
		{&unix.SockaddrInet6{Port: 6380, Addr: [16]byte{15: 1}}, "[::1]:6380"},
		{&unix.SockaddrInet6{Port: 80, ZoneId: 2, Addr: [16]byte{0: 0xfe, 1: 0x80, 15: 1}}, "[fe80::1%2]:80"},
		{&unix.SockaddrInet6{Port: 1, Addr: [16]byte{10: 0xff, 11: 0xff, 12: 10, 15: 1}}, "[::ffff:10.0.0.1]:1"},
		{&unix.SockaddrUnix{Name: "/tmp/redis.sock"}, "/tmp/redis.sock"},
		{&unix.SockaddrUnix{}, ""},
		{nil, ""},
	}
	if abstractUnix {
		cases = append(cases,
			addrCase{&unix.SockaddrUnix{Name: "@"}, ""}, // unnamed, as x/sys decodes it
			addrCase{&unix.SockaddrUnix{Name: "@name"}, "@name"})
	}
	for _, c := range cases {
		require.Equal(t, c.want, FormatAddr(c.sa), "%#v", c.sa)
	}
}

func TestParseTCP(t *testing.T) {
	for _, c := range []struct {
		addr   string
		listen bool
		want   string
	}{
		{"127.0.0.1:6379", true, "127.0.0.1:6379"},
		{"localhost:6379", false, "127.0.0.1:6379"},
		{"LocalHost:1", true, "127.0.0.1:1"},
		{":6379", true, "0.0.0.0:6379"},
		{"*:6379", true, "0.0.0.0:6379"},
		{":6379", false, "127.0.0.1:6379"},
		{"[::]:6379", true, "[::]:6379"},
		{"[::*]:6379", true, "[::]:6379"},
		{"[::1]:0", true, "[::1]:0"},
		{"[fe80::1%3]:80", false, "[fe80::1%3]:80"},
		{"[::ffff:127.0.0.1]:80", false, "127.0.0.1:80"},
		{"10.0.0.1:065535", false, "10.0.0.1:65535"},
	} {
		sa, family, err := parseTCP(c.addr, c.listen)
		require.NoError(t, err, c.addr)
		require.Equal(t, c.want, FormatAddr(sa), c.addr)
		if _, v4 := sa.(*unix.SockaddrInet4); v4 {
			require.Equal(t, unix.AF_INET, family, c.addr)
		} else {
			require.Equal(t, unix.AF_INET6, family, c.addr)
		}
	}
}
