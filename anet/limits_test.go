//go:build unix

package anet

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestAcceptEMFILE fills the fd table under a lowered RLIMIT_NOFILE and
// checks that Accept reports EMFILE, and that the connection stays queued
// and is accepted once an fd is free.
func TestAcceptEMFILE(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	f.own(TCPConnect(addr))
	waitFor(t, lfd, unix.POLLIN)

	var old unix.Rlimit
	require.NoError(t, unix.Getrlimit(unix.RLIMIT_NOFILE, &old))
	// The lowest free fd now; a limit a little above it leaves a handful
	// of free slots (plus any holes below) to fill.
	probe := f.own(unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0))
	f.close(probe)
	lim := old
	setLimit(&lim.Cur, probe+8)
	if lim.Cur > old.Cur {
		t.Skipf("RLIMIT_NOFILE %d is already below %d", old.Cur, lim.Cur)
	}
	require.NoError(t, unix.Setrlimit(unix.RLIMIT_NOFILE, &lim))
	t.Cleanup(func() {
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &old); err != nil {
			t.Errorf("restoring RLIMIT_NOFILE: %v", err)
		}
	})

	var fillers []int
	for {
		fd, err := unix.Dup(lfd)
		if err == unix.EMFILE {
			break
		}
		f.own(fd, err)
		fillers = append(fillers, fd)
		require.Less(t, len(fillers), int(lim.Cur), "the fd table never filled")
	}
	fd, err := Accept(lfd)
	require.Equal(t, -1, fd)
	require.ErrorIs(t, err, unix.EMFILE)
	require.NotErrorIs(t, err, ErrWouldBlock)
	require.ErrorContains(t, err, acceptCall)
	_, _, err = AcceptAddr(lfd)
	require.ErrorIs(t, err, unix.EMFILE)

	f.close(fillers[len(fillers)-1])
	server := f.own(Accept(lfd))
	requireNewFdFlags(t, server)
	// The table is full again, so even an empty queue says EMFILE (the fd
	// is allocated first); with a slot free it says nothing is pending.
	f.close(fillers[len(fillers)-2])
	_, err = Accept(lfd)
	require.ErrorIs(t, err, ErrWouldBlock)
}

// TestAcceptAllocs checks that Accept allocates nothing on Linux and
// reports what it allocates elsewhere.
func TestAcceptAllocs(t *testing.T) {
	f := newFds(t)
	lfd, addr := f.listen()
	const runs = 20
	for range runs + 1 { // AllocsPerRun calls once more to warm up
		c := f.own(TCPConnect(addr))
		waitFor(t, c, unix.POLLOUT)
	}
	var accepted []int
	allocs := testing.AllocsPerRun(runs, func() {
		for {
			fd, err := Accept(lfd)
			if err == ErrWouldBlock {
				// Connected but not yet queued: wait without allocating.
				runtime.Gosched()
				continue
			}
			if err != nil {
				panic(err)
			}
			accepted = append(accepted, fd)
			return
		}
	})
	for _, fd := range accepted {
		f.own(fd, nil)
	}
	t.Logf("Accept: %v allocations per connection", allocs)
	if runtime.GOOS == "linux" {
		require.Zero(t, allocs)
	}
}

// TestNoFdLeak runs listen, connect, accept and close 200 times, with the
// error paths in between (a port in use, an address refused, a file in the
// way of a Unix socket, a connect to nobody), and checks that the process
// has as many fds open afterwards as before.
func TestNoFdLeak(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc/self/fd to count open fds on this system")
	}
	count := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		require.NoError(t, err)
		return len(ents)
	}
	dir := sockPath(t)
	require.NoError(t, os.Mkdir(dir, 0o700))
	blocker := dir + "/file"
	require.NoError(t, os.WriteFile(blocker, nil, 0o600))
	sock := dir + "/s"

	cycle := func() {
		f := &fds{t: t, open: map[int]bool{}}
		defer func() {
			for fd := range f.open {
				f.close(fd)
			}
		}()
		lfd, addr := f.listen()
		_, err := TCPServer(addr, ListenOptions{})
		require.ErrorIs(t, err, unix.EADDRINUSE)
		_, err = TCPServer("nonsense", ListenOptions{})
		require.ErrorIs(t, err, ErrAddr)
		client, server := f.pair(lfd, func() (int, error) { return TCPConnect(addr) })
		require.NoError(t, TCPNoDelay(server, true))
		require.NoError(t, KeepAlive(client, 0))
		_, err = Accept(lfd)
		require.ErrorIs(t, err, ErrWouldBlock)

		_, err = UnixServer(blocker, 0, ListenOptions{})
		require.ErrorIs(t, err, unix.EADDRINUSE)
		ulfd := f.own(UnixServer(sock, 0o600, ListenOptions{}))
		f.pair(ulfd, func() (int, error) { return UnixConnect(sock) })
		_, err = UnixConnect(dir + "/nobody")
		require.ErrorIs(t, err, unix.ENOENT)
	}
	cycle() // warm up: whatever the runtime opens once is open before counting
	before := count()
	for range 200 {
		cycle()
	}
	require.Equal(t, before, count(), "fds open before and after 200 cycles")
}

// setLimit stores n in an rlimit field, whose type differs among the
// systems (uint64 on Linux, int64 on FreeBSD and DragonFly).
func setLimit[T ~int64 | ~uint64](field *T, n int) { *field = T(n) }
