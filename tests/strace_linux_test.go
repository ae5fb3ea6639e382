//go:build linux

package tests

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// straceChildEnv marks the child process TestEpollCtlStrace runs under
// strace.
const straceChildEnv = "AEMUX_STRACE_CHILD"

// TestEpollCtlStrace checks Register/AddReadThenWrite at the kernel itself, without the
// Poller's own counters: Add(R), Add(W), Add(W), Del(R), Del(W) on one fd
// make exactly EPOLL_CTL_ADD, MOD, MOD, DEL, as seen by
// strace -f -e trace=epoll_ctl on a child process. Without strace it fails
// when $CI is set (CI installs it) and skips otherwise.
func TestEpollCtlStrace(t *testing.T) {
	if os.Getenv(straceChildEnv) != "" {
		straceChild(t)
		return
	}
	if !slices.Contains(mux.Backends(), "epoll") {
		t.Skipf("the epoll backend is not built (backends: %v)", mux.Backends())
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		require.Empty(t, os.Getenv("CI"), "strace is not on PATH and $CI is set: CI must install strace (%v)", err)
		t.Skipf("strace is not on PATH (%v): install it to check the epoll_ctl calls at the kernel; CI does", err)
	}
	trace := filepath.Join(t.TempDir(), "strace.txt")
	cmd := exec.Command(strace, "-f", "-e", "trace=epoll_ctl", "-o", trace,
		os.Args[0], "-test.run=^TestEpollCtlStrace$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), straceChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "strace %v\n%s", cmd.Args[1:], out)
	m := regexp.MustCompile(`AEMUX_STRACE epfd=(\d+) fd=(\d+)`).FindSubmatch(out)
	require.NotNil(t, m, "the child printed no AEMUX_STRACE line:\n%s", out)
	epfd, fd := string(m[1]), string(m[2])
	text, err := os.ReadFile(trace)
	require.NoError(t, err)
	// [pid 1234] epoll_ctl(5, EPOLL_CTL_ADD, 7, {events=EPOLLIN|EPOLLRDHUP, ...}) = 0
	call := regexp.MustCompile(`epoll_ctl\((\d+), (EPOLL_CTL_[A-Z]+), (\d+),.*= (-?\d+)`)
	var ops []string
	for _, c := range call.FindAllSubmatch(text, -1) {
		if string(c[1]) == epfd && string(c[3]) == fd {
			ops = append(ops, string(c[2])+" = "+string(c[4]))
		}
	}
	want := []string{"EPOLL_CTL_ADD = 0", "EPOLL_CTL_MOD = 0", "EPOLL_CTL_MOD = 0", "EPOLL_CTL_DEL = 0"}
	assert.Equal(t, want, ops, "epoll_ctl calls on epoll fd %s for fd %s\nstrace output:\n%s", epfd, fd, text)
	t.Logf("epoll_ctl(%s, ..., %s): %v", epfd, fd, ops)
}

// straceChild is the traced program: one fd, five mask changes.
func straceChild(t *testing.T) {
	h := newHarness(t, func(setsize int, opts ...mux.Option) (*mux.Poller, error) {
		return mux.Open(setsize, append([]mux.Option{mux.WithBackend("epoll")}, opts...)...)
	}, nil)
	p := h.open(pollerSetSize)
	fd, _ := h.socketpair()
	fmt.Println("AEMUX_STRACE epfd=" + strconv.Itoa(p.Fd()) + " fd=" + strconv.Itoa(fd))
	steps := []struct {
		op   func(int, event.Mask) error
		name string
		m    event.Mask
	}{
		{p.Add, "Add", event.Readable},
		{p.Add, "Add", event.Writable},
		{p.Add, "Add", event.Writable},
		{p.Del, "Del", event.Readable},
		{p.Del, "Del", event.Writable},
	}
	for _, s := range steps {
		require.NoError(t, s.op(fd, s.m), "%s(%d, %v)", s.name, fd, s.m)
	}
}
