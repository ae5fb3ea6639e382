package check

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// build compiles bareepoll.c into a temporary directory with the given extra
// flags (warnings are errors). Without cc it skips, except under CI.
func build(t *testing.T, name string, flags ...string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("bareepoll is Linux-only (epoll, signalfd)")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no C compiler (cc) on PATH: %v", err)
		}
		t.Skipf("no C compiler (cc) on PATH, cannot build bareepoll.c: %v", err)
	}
	bin := filepath.Join(t.TempDir(), name)
	args := append([]string{"-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"}, flags...)
	args = append(args, "-o", bin, filepath.Join("..", "bareepoll.c"))
	out, err := exec.Command(cc, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// server is a running bareepoll.
type server struct {
	addr   string
	mode   string // edge or level
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan error
}

var listening = regexp.MustCompile(`listening on (\S+) \((level|edge)-triggered\)`)

// start runs bin on a free port (port 0; the server names the one it got).
func start(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, stderr: new(bytes.Buffer), done: make(chan error, 1)}
	first := make(chan string, 1)
	go func() {
		br := bufio.NewReader(pr)
		line, _ := br.ReadString('\n')
		first <- line
		s.stderr.WriteString(line)
		_, _ = io.Copy(s.stderr, br) // until the server exits
		s.done <- cmd.Wait()
	}()
	select {
	case line := <-first:
		m := listening.FindStringSubmatch(line)
		if m == nil {
			_ = cmd.Process.Kill()
			t.Fatalf("bareepoll's first line is %q, want \"... listening on ADDR (MODE-triggered)\"", line)
		}
		s.addr, s.mode = m[1], m[2]
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("bareepoll did not say where it listens within 10 s")
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop sends SIGTERM and expects a clean exit (status 0, nothing on stderr
// after the first line: a leak checker, when built in, would write there).
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("bareepoll exited with %v after SIGTERM; stderr:\n%s", err, s.stderr)
		} else if n := strings.Count(s.stderr.String(), "\n"); n > 1 {
			t.Errorf("bareepoll wrote to stderr:\n%s", s.stderr)
		}
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		t.Errorf("bareepoll did not exit within 10 s of SIGTERM")
	}
	s.cmd = nil
}

func (s *server) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// expect reads exactly len(want) bytes and compares them.
func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	got := make([]byte, len(want))
	n, err := io.ReadFull(c, got)
	if err != nil || string(got) != want {
		t.Fatalf("read %d of %d bytes (err %v):\n got %s\nwant %s", n, len(want), err, clip(got[:n]), clip([]byte(want)))
	}
}

// expectClosed checks that the server closed the connection with nothing
// more to read. A reset counts as closed: closing a socket with input still
// unread makes the kernel send RST, as it does for Redis.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	var b [64]byte
	n, err := c.Read(b[:])
	if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		t.Fatalf("after the last reply: read %q, %v; want EOF (connection closed)", b[:n], err)
	}
}

func clip(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q... (%d bytes)", b[:200], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// mb encodes a multibulk command.
func mb(args ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

func bulk(s string) string { return fmt.Sprintf("$%d\r\n%s\r\n", len(s), s) }

// TestBareepoll runs every check against both epoll modes, and again against
// a build with AddressSanitizer and LeakSanitizer, which make the server fail
// its exit on SIGTERM if it leaked or touched memory it does not own.
func TestBareepoll(t *testing.T) {
	plain := build(t, "bareepoll")
	t.Run("edge", func(t *testing.T) { checks(t, plain, "edge") })
	t.Run("level", func(t *testing.T) { checks(t, plain, "level", "-level") })
	t.Run("sanitizers", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: no AddressSanitizer build")
		}
		asan := build(t, "bareepoll-asan", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all")
		t.Run("edge", func(t *testing.T) { checks(t, asan, "edge") })
		t.Run("level", func(t *testing.T) { checks(t, asan, "level", "-level") })
	})
}

// checks starts bin with args, expecting it in mode (edge or level), and runs
// every check against it.
func checks(t *testing.T, bin, mode string, args ...string) {
	s := start(t, bin, args...)
	if s.mode != mode {
		t.Fatalf("bareepoll %s says it is %s-triggered; want %s", strings.Join(args, " "), s.mode, mode)
	}
	t.Run("commands", func(t *testing.T) { testCommands(t, s) })
	t.Run("pipeline", func(t *testing.T) { testPipeline(t, s) })
	t.Run("every split", func(t *testing.T) { testEverySplit(t, s) })
	t.Run("large", func(t *testing.T) { testLarge(t, s) })
	t.Run("slow reader", func(t *testing.T) { testSlowReader(t, s) })
	t.Run("malformed", func(t *testing.T) { testMalformed(t, s) })
	t.Run("quit", func(t *testing.T) { testQuit(t, s) })
	t.Run("concurrent", func(t *testing.T) { testConcurrent(t, s) })
	t.Run("no fd leak", func(t *testing.T) { testFds(t, s) })
}

func testCommands(t *testing.T, s *server) {
	c := s.dial(t)
	cases := []struct{ in, want string }{
		{mb("PING"), "+PONG\r\n"},
		{"PING\r\n", "+PONG\r\n"},
		{"ping\n", "+PONG\r\n"},
		{mb("PING", "hello"), bulk("hello")},
		{"PING hello\r\n", bulk("hello")},
		{mb("ECHO", "with\r\nCRLF and \x00"), bulk("with\r\nCRLF and \x00")},
		{mb("ECHO", ""), "$0\r\n\r\n"},
		{mb("GET", "key:000000000001"), "$-1\r\n"},
		{mb("SET", "key:000000000001", "xxx"), "+OK\r\n"},
		{mb("GET", "key:000000000001"), bulk("xxx")},
		{mb("set", "key:000000000001", "longer value"), "+OK\r\n"},
		{"get key:000000000001\r\n", bulk("longer value")},
		{mb("SET", "key:000000000001", "v"), "+OK\r\n"},
		{"  GET \t key:000000000001  \r\n", bulk("v")},
		{mb("SET", "", ""), "+OK\r\n"},
		{mb("GET", ""), "$0\r\n\r\n"},
		{mb("SET", "k"), "-ERR wrong number of arguments for 'SET' command\r\n"},
		{mb("SET", "k", "v", "EX", "10"), "-ERR syntax error\r\n"},
		{mb("GET"), "-ERR wrong number of arguments for 'GET' command\r\n"},
		{mb("PING", "a", "b"), "-ERR wrong number of arguments for 'PING' command\r\n"},
		{mb("FOO", "bar"), "-ERR unknown command 'FOO'\r\n"},
		{"foo\tbar\r\n", "-ERR unknown command 'foo'\r\n"},
		{mb("A\r\nB"), "-ERR unknown command 'A??B'\r\n"},
		{mb("CONFIG", "GET", "save"), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n"},
		{mb("CONFIG", "GET", "appendonly"), "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n"},
		{mb("CONFIG", "GET", "maxmemory"), "*0\r\n"},
		{mb("CONFIG", "SET", "x", "y"), "-ERR unsupported CONFIG subcommand\r\n"},
		{mb("COMMAND"), "*0\r\n"},
		{mb("COMMAND", "DOCS"), "*0\r\n"},
		{mb("COMMAND", "COUNT"), ":0\r\n"},
		// Empty commands get no reply: the PING after each is the next one.
		{"\r\n" + mb("PING"), "+PONG\r\n"},
		{"*0\r\n*-1\r\n" + mb("PING"), "+PONG\r\n"},
	}
	for _, tc := range cases {
		send(t, c, tc.in)
		expect(t, c, tc.want)
	}
}

// pipeline returns 100 mixed commands and their replies.
func pipeline(tag string) (string, string) {
	var in, want strings.Builder
	for i := 0; i < 20; i++ {
		k := fmt.Sprintf("key:%s:%d", tag, i)
		v := strings.Repeat(string(rune('a'+i)), i+1)
		in.WriteString(mb("SET", k, v))
		want.WriteString("+OK\r\n")
		in.WriteString(mb("GET", k))
		want.WriteString(bulk(v))
		in.WriteString("PING\r\n")
		want.WriteString("+PONG\r\n")
		in.WriteString("GET " + k + ":missing\r\n")
		want.WriteString("$-1\r\n")
		in.WriteString(mb("ECHO", v+"\r\n"))
		want.WriteString(bulk(v + "\r\n"))
	}
	return in.String(), want.String()
}

func testPipeline(t *testing.T, s *server) {
	in, want := pipeline("one")
	c := s.dial(t)
	send(t, c, in) // one write
	expect(t, c, want)

	// The same, in writes of odd sizes with pauses between them, so the
	// server reads them separately.
	in, want = pipeline("split")
	sizes := []int{1, 3, 7, 17, 31, 61, 127, 2}
	for i, off := 0, 0; off < len(in); i++ {
		n := min(sizes[i%len(sizes)], len(in)-off)
		send(t, c, in[off:off+n])
		off += n
		time.Sleep(time.Millisecond)
	}
	expect(t, c, want)
}

// testEverySplit sends a short pipeline in two writes, cut at every byte.
func testEverySplit(t *testing.T, s *server) {
	in := mb("SET", "key:split", "abc") + mb("GET", "key:split") + "PING\r\n" + mb("ECHO", "hi") + "GET key:split\n"
	want := "+OK\r\n" + bulk("abc") + "+PONG\r\n" + bulk("hi") + bulk("abc")
	c := s.dial(t)
	for cut := 1; cut < len(in); cut++ {
		send(t, c, in[:cut])
		time.Sleep(200 * time.Microsecond)
		send(t, c, in[cut:])
		expect(t, c, want)
	}
}

func testLarge(t *testing.T, s *server) {
	big := make([]byte, 1<<20)
	rand.New(rand.NewSource(1)).Read(big) // any bytes, CR and LF among them
	v := string(big)
	c := s.dial(t)
	send(t, c, mb("SET", "key:big", v))
	expect(t, c, "+OK\r\n")
	send(t, c, mb("GET", "key:big"))
	expect(t, c, bulk(v))
	send(t, c, mb("ECHO", v)+mb("PING"))
	expect(t, c, bulk(v)+"+PONG\r\n")
	// A smaller value over the large one.
	send(t, c, mb("SET", "key:big", "small")+mb("GET", "key:big"))
	expect(t, c, "+OK\r\n"+bulk("small"))
}

// testSlowReader asks for 16 MB of replies before reading any, so the
// server's writes are partial and it must wait for the socket to drain.
func testSlowReader(t *testing.T, s *server) {
	v := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	c := s.dial(t)
	send(t, c, mb("SET", "key:slow", v))
	expect(t, c, "+OK\r\n")
	var in, want strings.Builder
	for i := 0; i < 16; i++ {
		in.WriteString(mb("GET", "key:slow"))
		want.WriteString(bulk(v))
	}
	in.WriteString("PING\r\n")
	want.WriteString("+PONG\r\n")
	send(t, c, in.String())
	time.Sleep(100 * time.Millisecond)
	expect(t, c, want.String())
	// The connection still works both ways.
	send(t, c, mb("PING"))
	expect(t, c, "+PONG\r\n")

	// Again, then QUIT while the server waits to write, then more input: the
	// server must close once all before QUIT is written, and must not spin
	// meanwhile (it reads no more, so a level-triggered EPOLLIN left armed
	// would wake every epoll_wait while that input sits unread).
	send(t, c, in.String())
	time.Sleep(50 * time.Millisecond)
	send(t, c, "QUIT\r\n")
	time.Sleep(20 * time.Millisecond)
	send(t, c, "PING\r\n")
	checkIdle(t, s)
	expect(t, c, want.String()+"+OK\r\n")
	expectClosed(t, c)
}

// checkIdle fails if the server spins while it has nothing to do but wait
// for a slow reader. Counting its CPU over a fixed window right after the
// requests flaked (issue 19): the window could start while the server was
// still building 16 MiB of replies, slowly under AddressSanitizer and on a
// machine busy with other work. So the CPU the server gets is compared
// with what a spinning control process gets over the same time, which a
// busy machine slows alike: first the legitimate work is let finish (the
// window starts once the server went without a clock tick while the
// control got settleTicks; 10 s at most, a spinning server never settles),
// then over a window in which the control gets windowTicks, the server
// must get less than a quarter of the control's share. An idle server gets
// none.
func checkIdle(t *testing.T, s *server) {
	t.Helper()
	const settleTicks, windowTicks = 10, 50
	spin := exec.Command("/bin/sh", "-c", "while :; do :; done")
	if err := spin.Start(); err != nil {
		t.Fatalf("start the spinning control: %v", err)
	}
	defer func() { _ = spin.Process.Kill(); _ = spin.Wait() }()
	ctl := func() int { return pidTicks(t, spin.Process.Pid) }
	// waitCtl sleeps until the control got n more ticks, or until end.
	waitCtl := func(n int, end time.Time) {
		for c0 := ctl(); ctl()-c0 < n && time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
		}
	}
	settled := false
	for end := time.Now().Add(10 * time.Second); !settled && time.Now().Before(end); {
		before := cpuTicks(t, s)
		waitCtl(settleTicks, end)
		settled = cpuTicks(t, s) == before
	}
	start, before, ctlBefore := time.Now(), cpuTicks(t, s), ctl()
	waitCtl(windowTicks, start.Add(10*time.Second))
	used, got := cpuTicks(t, s)-before, ctl()-ctlBefore
	took := time.Since(start).Round(time.Millisecond)
	t.Logf("over %v after the server settled (%v): server %d clock ticks, spinning control %d", took, settled, used, got)
	if got < settleTicks {
		t.Skipf("the spinning control got %d clock ticks in %v: the machine is too busy to tell a spinning server", got, took)
	}
	if used >= 3 && 4*used > got {
		t.Errorf("the server used %d clock ticks of CPU in %v while waiting for a slow reader, a spinning process %d", used, took, got)
	}
}

// cpuTicks returns the server's user+system CPU time in clock ticks.
func cpuTicks(t *testing.T, s *server) int {
	t.Helper()
	return pidTicks(t, s.cmd.Process.Pid)
}

// pidTicks returns a process's user+system CPU time in clock ticks.
func pidTicks(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: state is the
	// first, utime and stime the 12th and 13th.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	var u, st int
	if _, err := fmt.Sscan(f[11], &u); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Sscan(f[12], &st); err != nil {
		t.Fatal(err)
	}
	return u + st
}

func testMalformed(t *testing.T, s *server) {
	cases := []struct{ in, want string }{
		{"*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"PING\r\n*1\r\n$x\r\nPING\r\n", "+PONG\r\n-ERR Protocol error: invalid bulk length\r\n"},
		{"*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*1\r\n$536870913\r\n", "-ERR Protocol error: invalid bulk length\r\n"},
		{"*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"*1048577\r\n", "-ERR Protocol error: invalid multibulk length\r\n"},
		{"*1\r\n@3\r\nfoo\r\n", "-ERR Protocol error: expected '$', got '@'\r\n"},
		{"*1\r\n$3\r\nfooXY", "-ERR Protocol error: bulk string not terminated by CRLF\r\n"},
		{"*1\r\n$" + strings.Repeat("1", 40), "-ERR Protocol error: too big bulk count string\r\n"},
		{"*" + strings.Repeat("1", 40), "-ERR Protocol error: too big mbulk count string\r\n"},
		{strings.Repeat("x", 70<<10), "-ERR Protocol error: too big inline request\r\n"},
	}
	for _, tc := range cases {
		c := s.dial(t)
		send(t, c, tc.in)
		expect(t, c, tc.want)
		expectClosed(t, c)
	}
}

func testQuit(t *testing.T, s *server) {
	c := s.dial(t)
	send(t, c, "PING\r\nQUIT\r\nPING\r\n")
	expect(t, c, "+PONG\r\n+OK\r\n")
	expectClosed(t, c)
}

// testConcurrent: 200 clients at once, each setting and reading its own key,
// then each reading another's.
func testConcurrent(t *testing.T, s *server) {
	const clients = 200
	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = s.dial(t)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	run := func(step func(i int, c net.Conn) error) {
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := step(i, c); err != nil {
					errs <- fmt.Errorf("client %d: %w", i, err)
				}
			}()
		}
		wg.Wait()
	}
	roundTrip := func(c net.Conn, in, want string) error {
		if _, err := c.Write([]byte(in)); err != nil {
			return err
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil {
			return err
		}
		if string(got) != want {
			return fmt.Errorf("sent %q: got %q, want %q", in, got, want)
		}
		return nil
	}
	run(func(i int, c net.Conn) error {
		k, v := fmt.Sprintf("key:c%d", i), fmt.Sprintf("value-%d", i)
		for j := 0; j < 20; j++ {
			if err := roundTrip(c, mb("SET", k, v), "+OK\r\n"); err != nil {
				return err
			}
			if err := roundTrip(c, mb("GET", k), bulk(v)); err != nil {
				return err
			}
		}
		return nil
	})
	run(func(i int, c net.Conn) error {
		j := (i + 1) % clients
		return roundTrip(c, fmt.Sprintf("GET key:c%d\r\n", j), bulk(fmt.Sprintf("value-%d", j)))
	})
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testFds checks that closed clients leave no descriptor behind.
func testFds(t *testing.T, s *server) {
	count := func() int {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", s.cmd.Process.Pid))
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	base := count()
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", s.addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		send(t, c, mb("PING"))
		expect(t, c, "+PONG\r\n")
		c.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := count(); n > base {
		t.Errorf("%d descriptors open after 50 clients came and went; %d before", n, base)
	}
}
