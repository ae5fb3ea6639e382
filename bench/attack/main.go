// Command attack drives the hostile clients of issue 19 against a RESP
// server on the loopback interface and prints what they cost it, so that
// aeserver and redis-server can be compared in one run:
//
//	go run ./bench/attack -addr 127.0.0.1:6380 -pid $(pgrep -n aeserver) -attack halfclose
//
// Attacks (-attack):
//
//	halfclose  -n times: connect, send PING, shutdown(SHUT_WR), read the
//	           reply, close; then the server's sockets left in CLOSE_WAIT
//	           (from /proc/net/tcp, after -settle) and connected_clients.
//	declared   for -duration, -conns connections at a time each send
//	           "*1\r\n$536870912\r\n" and one byte, wait 100 ms and close,
//	           over and over.
//	argcount   -conns connections each announce -args arguments and send
//	           empty ones ("$0\r\n\r\n", never all of them) for -duration.
//
// During each attack a well-behaved client sends PING every millisecond
// and the program reports its latency (p50, p99, max, and how many got no
// reply within a second), and with -pid the server's peak RSS (VmRSS,
// sampled every 20 ms). Everything is bounded: -n, -conns and -duration,
// and every socket has a deadline. Only loopback addresses are accepted.
//
// Measured on 2026-12-06 on a 2-core AMD EPYC VM shared with other jobs
// (noisy: compare within a row group), one fresh server per line, default
// flags: aeserver before the issue 19 fixes (5f8064b), after them, and
// redis-server 7.0.15, in one run:
//
//	halfclose -n 12000         CLOSE_WAIT left  connected_clients  PING p99
//	  aeserver before                    9999              10000   21.7 ms
//	  aeserver after                        0                  1    9.3 ms
//	  redis-server                          0                  1    8.8 ms
//	declared -conns 2, 5 s     peak RSS         PING p99 (PINGs answered)
//	  aeserver before          1255 MiB         3.9 ms (145, 5 lost)
//	  aeserver after              6 MiB         0.39 ms (4135)
//	  redis-server               12 MiB         0.48 ms (4170)
//	argcount -args 100000000 -conns 2, 3 s (refused after: over 1024*1024)
//	  aeserver before           591 MiB         555 ms
//	  aeserver after              4 MiB         1.0 ms
//	  redis-server              618 MiB         9.5 ms
//	argcount -args 1048576 -conns 2, 5 s (accepted by all three)
//	  aeserver before           114 MiB         1.1 ms
//	  aeserver after            113 MiB         0.49 ms
//	  redis-server              107 MiB         2.7 ms
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:6380", "the server, on a loopback address")
	pid := flag.Int("pid", 0, "the server's process id, for its RSS (0: not measured)")
	attack := flag.String("attack", "halfclose", "halfclose, declared or argcount")
	n := flag.Int("n", 12000, "halfclose: connections")
	conns := flag.Int("conns", 2, "declared, argcount: attacking connections at a time")
	duration := flag.Duration("duration", 5*time.Second, "declared, argcount: how long")
	args := flag.Int("args", 1<<20, "argcount: the argument count announced")
	settle := flag.Duration("settle", time.Second, "halfclose: wait this long before counting CLOSE_WAIT sockets")
	flag.Parse()
	if err := run(*addr, *pid, *attack, *n, *conns, *args, *duration, *settle); err != nil {
		fmt.Fprintln(os.Stderr, "attack:", err)
		os.Exit(1)
	}
}

func run(addr string, pid int, attack string, n, conns, args int, duration, settle time.Duration) error {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %s: only loopback addresses (127.0.0.1, ::1)", addr)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return err
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var peak atomic.Int64
	if pid > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				peak.Store(max(peak.Load(), rss(pid)))
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	var lat []time.Duration
	var lost int
	wg.Add(1)
	go func() {
		defer wg.Done()
		lat, lost = pinger(addr, &stop)
	}()
	start := time.Now()
	switch attack {
	case "halfclose":
		err = halfClose(addr, n)
	case "declared":
		err = repeat(addr, conns, duration, []byte("*1\r\n$536870912\r\nx"), 100*time.Millisecond)
	case "argcount":
		err = argCount(addr, conns, args, duration)
	default:
		err = fmt.Errorf("-attack %q: want halfclose, declared or argcount", attack)
	}
	took := time.Since(start)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Printf("attack=%s took=%v pings=%d", attack, took.Round(time.Millisecond), len(lat))
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(f float64) time.Duration { return lat[min(len(lat)-1, int(f*float64(len(lat))))] }
		fmt.Printf(" ping_p50=%v ping_p99=%v ping_max=%v", q(0.50).Round(time.Microsecond), q(0.99).Round(time.Microsecond),
			lat[len(lat)-1].Round(time.Microsecond))
	}
	fmt.Printf(" pings_lost=%d", lost)
	if pid > 0 {
		fmt.Printf(" peak_rss_mib=%d rss_after_mib=%d", peak.Load()>>20, rss(pid)>>20)
	}
	if attack == "halfclose" {
		time.Sleep(settle)
		fmt.Printf(" close_wait=%d connected_clients=%s", closeWait(port), info(addr, "connected_clients"))
	}
	fmt.Println()
	return nil
}

// pinger sends PING every millisecond on one connection until stop, and
// returns the round trips and the count of PINGs without a reply within a
// second (after which it reconnects).
func pinger(addr string, stop *atomic.Bool) (lat []time.Duration, lost int) {
	var c net.Conn
	var r *bufio.Reader
	for !stop.Load() {
		if c == nil {
			var err error
			if c, err = net.DialTimeout("tcp", addr, time.Second); err != nil {
				lost++
				c = nil
				time.Sleep(10 * time.Millisecond)
				continue
			}
			r = bufio.NewReader(c)
		}
		t0 := time.Now()
		c.SetDeadline(t0.Add(time.Second))
		_, err := c.Write([]byte("PING\r\n"))
		if err == nil {
			var line string
			line, err = r.ReadString('\n')
			if err == nil && line != "+PONG\r\n" {
				err = fmt.Errorf("%q", line)
			}
		}
		if err != nil {
			lost++
			c.Close()
			c = nil
			continue
		}
		lat = append(lat, time.Since(t0))
		time.Sleep(time.Millisecond)
	}
	if c != nil {
		c.Close()
	}
	return lat, lost
}

// halfClose is the CLOSE_WAIT attack, 64 clients at a time.
func halfClose(addr string, n int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					failed.Add(1)
					continue
				}
				c.SetDeadline(time.Now().Add(time.Second))
				c.Write([]byte("PING\r\n"))
				c.(*net.TCPConn).CloseWrite()
				buf := make([]byte, 64)
				c.Read(buf)
				c.Close()
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		fmt.Printf("(%d connects failed) ", f)
	}
	return nil
}

// repeat keeps conns connections sending payload, each closed after hold
// and opened again, until duration is over.
func repeat(addr string, conns int, duration time.Duration, payload []byte, hold time.Duration) error {
	end := time.Now().Add(duration)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				c.SetDeadline(time.Now().Add(time.Second))
				c.Write(payload)
				time.Sleep(hold)
				c.Close()
			}
		}()
	}
	wg.Wait()
	return nil
}

// argCount: conns connections announce args arguments and send empty ones
// until duration is over (or the server closes them), never all of them.
func argCount(addr string, conns, args int, duration time.Duration) error {
	end := time.Now().Add(duration)
	chunk := bytes.Repeat([]byte("$0\r\n\r\n"), 10000)
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(end)
			fmt.Fprintf(c, "*%d\r\n", args)
			for sent := 1; sent+10000 < args && time.Now().Before(end); sent += 10000 {
				if _, err := c.Write(chunk); err != nil {
					return
				}
			}
			time.Sleep(time.Until(end))
		}()
	}
	wg.Wait()
	return nil
}

// rss is a process's VmRSS in bytes, 0 if unknown.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// closeWait counts the TCP sockets in CLOSE_WAIT whose local port is port
// (the server's side of connections the peers closed), from /proc/net/tcp
// and tcp6.
func closeWait(port int) int {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 4 || fs[3] != "08" { // 08: CLOSE_WAIT
				continue
			}
			if i := strings.LastIndexByte(fs[1], ':'); i >= 0 {
				if p, err := strconv.ParseInt(fs[1][i+1:], 16, 32); err == nil && int(p) == port {
					n++
				}
			}
		}
	}
	return n
}

// info returns a field of INFO, or "?".
func info(addr, field string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "?(" + err.Error() + ")"
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("INFO clients\r\n"))
	buf := make([]byte, 8192)
	k, _ := c.Read(buf)
	m := regexp.MustCompile(field + `:(\d+)`).FindSubmatch(buf[:k])
	if m == nil {
		return "?(" + strings.TrimSpace(string(buf[:min(k, 60)])) + ")"
	}
	return string(m[1])
}
