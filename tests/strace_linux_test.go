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
	"strings"
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
	var ops []string
	for _, c := range parseEpollCtl(string(text)) {
		if c.epfd == epfd && c.fd == fd {
			ops = append(ops, c.op+" = "+c.result)
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

// ctlCall is one epoll_ctl call as strace printed it: the epoll fd, the
// operation, the target fd and the result ("0", "-1", or "?" for a call
// whose end the trace does not show).
type ctlCall struct {
	epfd, op, fd, result string
}

var (
	// "1234 rest", "[pid 1234] rest" or just "rest" (no -f, one thread).
	stracePid = regexp.MustCompile(`^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)?(.*)$`)
	// The head of a call: epoll_ctl(5, EPOLL_CTL_MOD, 7, {events=...}
	ctlHead = regexp.MustCompile(`^epoll_ctl\((\d+), (EPOLL_CTL_[A-Z]+), (\d+),`)
	// The tail of a finished call: ") = 0" or ") = -1 EBADF (...)".
	ctlResult = regexp.MustCompile(`\)\s*= (-?\d+|\?)`)
)

// parseEpollCtl returns the epoll_ctl calls in an strace -f log, in the
// order they started. strace splits a call over two lines when another
// thread's event (a syscall, or a signal such as the Go runtime's
// preemption SIGURG) is printed while the call is in the kernel:
//
//	11413 epoll_ctl(5, EPOLL_CTL_MOD, 7, {events=EPOLLOUT, ...} <unfinished ...>
//	11410 --- SIGURG {si_signo=SIGURG, ...} ---
//	11413 <... epoll_ctl resumed>)          = 0
//
// The two halves are joined by thread id, so a split call counts once,
// with its own result, wherever the halves fall.
func parseEpollCtl(log string) []ctlCall {
	var calls []ctlCall
	open := map[string]int{} // thread id -> index in calls of its unfinished call
	for _, line := range strings.Split(log, "\n") {
		m := stracePid.FindStringSubmatch(strings.TrimRight(line, "\r"))
		pid, rest := m[1]+m[2], m[3]
		if after, ok := strings.CutPrefix(rest, "<... epoll_ctl resumed>"); ok {
			if i, ok := open[pid]; ok {
				delete(open, pid)
				if r := ctlResult.FindStringSubmatch(after); r != nil {
					calls[i].result = r[1]
				}
			}
			continue
		}
		h := ctlHead.FindStringSubmatch(rest)
		if h == nil {
			continue
		}
		c := ctlCall{epfd: h[1], op: h[2], fd: h[3], result: "?"}
		if strings.HasSuffix(rest, "<unfinished ...>") {
			open[pid] = len(calls)
		} else if r := ctlResult.FindStringSubmatch(rest); r != nil {
			c.result = r[1]
		}
		calls = append(calls, c)
	}
	return calls
}

// TestParseEpollCtl runs the parser on recorded strace -f logs: plain
// lines, "[pid N]" prefixes, calls split by another thread's signal or
// syscall (also two threads' calls split across each other), failed calls,
// and a call whose end is missing.
func TestParseEpollCtl(t *testing.T) {
	cases := []struct {
		name string
		log  string
		want []ctlCall
	}{
		{
			name: "whole lines",
			log: `11413 epoll_ctl(5, EPOLL_CTL_ADD, 7, {events=EPOLLIN|EPOLLRDHUP, data={u32=7, u64=7}}) = 0
11413 epoll_ctl(5, EPOLL_CTL_MOD, 7, {events=EPOLLIN|EPOLLOUT|EPOLLRDHUP, data={u32=7, u64=7}}) = 0
11413 epoll_ctl(5, EPOLL_CTL_DEL, 7, NULL) = -1 EBADF (Bad file descriptor)
`,
			want: []ctlCall{{"5", "EPOLL_CTL_ADD", "7", "0"}, {"5", "EPOLL_CTL_MOD", "7", "0"}, {"5", "EPOLL_CTL_DEL", "7", "-1"}},
		},
		{
			// The failure this parser was written for: SIGURG on another
			// thread split the second MOD, and the old line-by-line regexp
			// saw only ADD, MOD, DEL.
			name: "split by a signal",
			log: `11413 epoll_ctl(5, EPOLL_CTL_ADD, 7, {events=EPOLLIN|EPOLLRDHUP, data={u32=7, u64=7}}) = 0
11413 epoll_ctl(5, EPOLL_CTL_MOD, 7, {events=EPOLLIN|EPOLLOUT|EPOLLRDHUP, data={u32=7, u64=7}}) = 0
11413 epoll_ctl(5, EPOLL_CTL_MOD, 7, {events=EPOLLOUT, data={u32=7, u64=7}} <unfinished ...>
11410 --- SIGURG {si_signo=SIGURG, si_code=SI_TKILL, si_pid=11410, si_uid=0} ---
11413 <... epoll_ctl resumed>)          = 0
11413 epoll_ctl(5, EPOLL_CTL_DEL, 7, NULL) = 0
11413 +++ exited with 0 +++
`,
			want: []ctlCall{{"5", "EPOLL_CTL_ADD", "7", "0"}, {"5", "EPOLL_CTL_MOD", "7", "0"}, {"5", "EPOLL_CTL_MOD", "7", "0"}, {"5", "EPOLL_CTL_DEL", "7", "0"}},
		},
		{
			name: "two threads split across each other, [pid N] prefix",
			log: `[pid 201] epoll_ctl(5, EPOLL_CTL_ADD, 7, {events=EPOLLIN, data={u32=7, u64=7}} <unfinished ...>
[pid 202] epoll_ctl(5, EPOLL_CTL_ADD, 8, {events=EPOLLIN, data={u32=8, u64=8}} <unfinished ...>
[pid 202] <... epoll_ctl resumed>) = -1 EEXIST (File exists)
[pid 201] <... epoll_ctl resumed> ) = 0
`,
			want: []ctlCall{{"5", "EPOLL_CTL_ADD", "7", "0"}, {"5", "EPOLL_CTL_ADD", "8", "-1"}},
		},
		{
			name: "no pid column (one thread), call never finished",
			log: `epoll_ctl(3, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=4}}) = 0
epoll_ctl(3, EPOLL_CTL_DEL, 4, NULL <unfinished ...>
+++ killed by SIGKILL +++
`,
			want: []ctlCall{{"3", "EPOLL_CTL_ADD", "4", "0"}, {"3", "EPOLL_CTL_DEL", "4", "?"}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, parseEpollCtl(c.log))
		})
	}
}
