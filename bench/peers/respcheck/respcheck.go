// Package respcheck checks a RESP server of the benchmark harness (the peers
// under bench/peers) over TCP, byte for byte: every command of the shared set
// (PING, ECHO, SET, GET, CONFIG GET, COMMAND, QUIT) in inline and multibulk
// form, pipelines sent whole and cut at every byte, large values, a client
// that does not read while the server writes 16 MiB, QUIT with replies still
// unwritten, malformed input and its exact error reply (Redis's wording), 200
// clients at once, and that closed clients leave no descriptor behind. The
// expected bytes are those of bench/peers/bareepoll and of package
// bench/peers/resp, whose parser the Go peers share.
//
// Each peer's module calls Run from a test with the command line that starts
// it, so one set of checks covers every peer:
//
//	func TestReplies(t *testing.T) {
//		respcheck.Run(t, respcheck.Server{Command: []string{respcheck.GoBuild(t, "."), "-addr", "{ADDR}"}})
//	}
//
// The server must listen on the address given in place of {ADDR}, stop with
// exit status 0 on SIGTERM, and write at most one line to stderr (which
// Server.Banner can check).
package respcheck

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

// Server describes a server under test.
type Server struct {
	// Command is the server's command line; "{ADDR}" in an argument stands
	// for the address it must listen on (127.0.0.1 and a free port).
	Command []string
	// Banner, when set, must match the first line the server writes to
	// stderr.
	Banner *regexp.Regexp
	// Skip names checks (as in the subtest names of Run) this server is known
	// to fail, each with the reason, which the test log shows.
	Skip map[string]string
}

// GoBuild builds the Go main package in dir into a temporary directory and
// returns the binary's path. It skips the test where the server cannot run
// (not Linux: the peers and the checks read /proc).
func GoBuild(t *testing.T, dir string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the checks read /proc (Linux only)")
	}
	bin := filepath.Join(t.TempDir(), "server")
	out, err := exec.Command("go", "build", "-o", bin, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	return bin
}

// server is a running server.
type server struct {
	addr   string
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	mu     sync.Mutex // guards stderr
	done   chan error
}

// freeAddr returns 127.0.0.1 and a port nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// start runs the server and waits until it accepts connections.
func start(t *testing.T, spec Server) *server {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the checks read /proc (Linux only)")
	}
	s := &server{addr: freeAddr(t), stderr: new(bytes.Buffer), done: make(chan error, 1)}
	args := make([]string, len(spec.Command))
	for i, a := range spec.Command {
		args[i] = strings.ReplaceAll(a, "{ADDR}", s.addr)
	}
	cmd := exec.Command(args[0], args[1:]...)
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.cmd = cmd
	first := make(chan string, 1)
	go func() {
		br := bufio.NewReader(pr)
		line, _ := br.ReadString('\n')
		first <- line
		s.mu.Lock()
		s.stderr.WriteString(line)
		s.mu.Unlock()
		for {
			l, err := br.ReadString('\n')
			s.mu.Lock()
			s.stderr.WriteString(l)
			s.mu.Unlock()
			if err != nil {
				break
			}
		}
		s.done <- cmd.Wait()
	}()
	t.Cleanup(func() { s.stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-s.done:
			s.cmd = nil
			t.Fatalf("%s exited at start (%v); stderr:\n%s", args[0], err, s.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s does not accept connections on %s within 10 s; stderr:\n%s", args[0], s.addr, s.log())
		}
	}
	if spec.Banner != nil {
		select {
		case line := <-first:
			if !spec.Banner.MatchString(line) {
				t.Fatalf("the server's first line on stderr is %q; want a match for %q", line, spec.Banner)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("the server wrote no line to stderr within 10 s; want a match for %q", spec.Banner)
		}
	}
	return s
}

func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

// stop sends SIGTERM and expects a clean exit: status 0, and at most one
// line on stderr (where a leak checker built in, or a library's complaint,
// would write more).
func (s *server) stop(t *testing.T) {
	t.Helper()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("the server exited with %v after SIGTERM; stderr:\n%s", err, s.log())
		} else if n := strings.Count(s.log(), "\n"); n > 1 {
			t.Errorf("the server wrote more than one line to stderr:\n%s", s.log())
		}
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		t.Errorf("the server did not exit within 10 s of SIGTERM")
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

// Run starts the server and runs every check against it, each as a subtest:
// commands, pipeline, every split, large, slow reader, quit while writing,
// malformed, quit, concurrent, no fd leak. It stops the server at the end
// and fails the test unless it exits cleanly.
func Run(t *testing.T, spec Server) {
	t.Helper()
	s := start(t, spec)
	checks := []struct {
		name string
		f    func(*testing.T, *server)
	}{
		{"commands", testCommands},
		{"pipeline", testPipeline},
		{"every split", testEverySplit},
		{"large", testLarge},
		{"slow reader", testSlowReader},
		{"quit while writing", testQuitWhileWriting},
		{"malformed", testMalformed},
		{"quit", testQuit},
		{"concurrent", testConcurrent},
		{"no fd leak", testFds},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if why, ok := spec.Skip[c.name]; ok {
				t.Skip(why)
			}
			c.f(t, s)
		})
	}
	s.stop(t)
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

// testSlowReader asks for 16 MiB of replies before reading any, so the
// server's writes are partial and it must wait for the socket to drain.
func testSlowReader(t *testing.T, s *server) {
	c := s.dial(t)
	in, want := slowPipeline(t, c)
	send(t, c, in)
	time.Sleep(100 * time.Millisecond)
	expect(t, c, want)
	// The connection still works both ways.
	send(t, c, mb("PING"))
	expect(t, c, "+PONG\r\n")
}

// slowPipeline stores a 1 MiB value and returns 16 GETs of it and a PING,
// and their replies.
func slowPipeline(t *testing.T, c net.Conn) (in, want string) {
	t.Helper()
	v := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	send(t, c, mb("SET", "key:slow", v))
	expect(t, c, "+OK\r\n")
	var ib, wb strings.Builder
	for i := 0; i < 16; i++ {
		ib.WriteString(mb("GET", "key:slow"))
		wb.WriteString(bulk(v))
	}
	ib.WriteString("PING\r\n")
	wb.WriteString("+PONG\r\n")
	return ib.String(), wb.String()
}

// testQuitWhileWriting asks for 16 MiB of replies again, then sends QUIT
// while the server waits to write, then more input: the server must close
// once all before QUIT is written, and must not spin meanwhile (it reads no
// more commands, so a level-triggered EPOLLIN left armed would wake every
// epoll_wait while that input sits unread).
func testQuitWhileWriting(t *testing.T, s *server) {
	c := s.dial(t)
	in, want := slowPipeline(t, c)
	send(t, c, in)
	time.Sleep(50 * time.Millisecond)
	send(t, c, "QUIT\r\n")
	time.Sleep(20 * time.Millisecond)
	send(t, c, "PING\r\n")
	checkIdle(t, s)
	expect(t, c, want+"+OK\r\n")
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
