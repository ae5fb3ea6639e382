// Command idleconn measures a server's memory per idle connection for
// bench/run.sh --idle-memory: it reads the server's resident set (VmRSS in
// /proc/PID/status), opens N connections to it, sends one PING on each and
// reads "+PONG", waits for the server's resident set to settle, reads it
// again with every connection still open, closes them all and prints one CSV
// line:
//
//	conns,rss_before_kb,rss_after_kb,bytes_per_conn,open_ms
//
// bytes_per_conn is (after − before) / conns. The connections come from
// source addresses spread over 127.0.0.2–127.0.0.251 (-sources), so that
// neither one address's ephemeral ports nor the TIME_WAIT sockets a previous
// run left behind run out. Everything is bounded: -timeout limits the whole
// run, and a connection that does not answer within it fails the run.
//
// Usage: idleconn -addr 127.0.0.1:PORT -pid PID [-n 10000] [-dialers 32]
// [-sources 250] [-settle 1s] [-timeout 120s]
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ErrBadReply is returned when a connection's answer to PING is not +PONG.
var ErrBadReply = errors.New("idleconn: reply is not +PONG")

// config is one measurement's parameters.
type config struct {
	addr    string
	pid     int
	n       int
	dialers int
	sources int
	settle  time.Duration
}

// result is one measurement.
type result struct {
	conns         int
	before, after int // VmRSS, KiB
	open          time.Duration
	bytesPerConn  float64
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "", "server address, 127.0.0.1:PORT")
	flag.IntVar(&cfg.pid, "pid", 0, "server process id (its VmRSS is read)")
	flag.IntVar(&cfg.n, "n", 10000, "connections to open (at most 15000)")
	flag.IntVar(&cfg.dialers, "dialers", 32, "connections opened at once")
	flag.IntVar(&cfg.sources, "sources", 250, "source addresses 127.0.0.2 onwards to spread the connections over")
	flag.DurationVar(&cfg.settle, "settle", time.Second, "how long the server's VmRSS must stay the same before it is read")
	timeout := flag.Duration("timeout", 120*time.Second, "the whole run at most")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("idleconn: ")
	if cfg.addr == "" || cfg.pid <= 0 || cfg.n < 1 || cfg.n > 15000 || cfg.dialers < 1 || cfg.sources < 1 || cfg.sources > 250 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	r, err := measure(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d,%d,%d,%.0f,%d\n", r.conns, r.before, r.after, r.bytesPerConn, r.open.Milliseconds())
}

// measure opens cfg.n connections, pings each, and reads the server's VmRSS
// before and after; it closes every connection before it returns.
func measure(ctx context.Context, cfg config) (result, error) {
	var r result
	before, err := settledRSS(ctx, cfg.pid, cfg.settle)
	if err != nil {
		return r, err
	}
	conns := make([]net.Conn, cfg.n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	start := time.Now()
	if err := openAll(ctx, cfg, conns); err != nil {
		return r, err
	}
	r.open = time.Since(start)
	after, err := settledRSS(ctx, cfg.pid, cfg.settle)
	if err != nil {
		return r, err
	}
	r.conns, r.before, r.after = cfg.n, before, after
	r.bytesPerConn = float64(after-before) * 1024 / float64(cfg.n)
	return r, nil
}

// openAll fills conns with connections that each answered one PING.
func openAll(ctx context.Context, cfg config, conns []net.Conn) error {
	deadline, _ := ctx.Deadline()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs error
		next = make(chan int)
	)
	for w := 0; w < cfg.dialers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := dialPing(ctx, cfg.addr, source(i, cfg.sources), deadline)
				if err != nil {
					mu.Lock()
					errs = errors.Join(errs, fmt.Errorf("connection %d: %w", i, err))
					mu.Unlock()
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := range conns {
		mu.Lock()
		failed := errs != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if errs == nil && ctx.Err() != nil {
		errs = ctx.Err()
	}
	return errs
}

// source returns the i-th connection's source address: 127.0.0.2 onwards,
// round robin over k addresses.
func source(i, k int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%k))}
}

var pingCmd = []byte("*1\r\n$4\r\nPING\r\n")

// dialPing connects from src to addr, sends PING and reads +PONG.
func dialPing(ctx context.Context, addr string, src *net.TCPAddr, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{LocalAddr: src, Deadline: deadline}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(deadline); err != nil {
		c.Close()
		return nil, err
	}
	if _, err := c.Write(pingCmd); err != nil {
		c.Close()
		return nil, err
	}
	var got [7]byte
	if _, err := io.ReadFull(c, got[:]); err != nil {
		c.Close()
		return nil, err
	}
	if string(got[:]) != "+PONG\r\n" {
		c.Close()
		return nil, fmt.Errorf("%w: %q", ErrBadReply, got[:])
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

// settledRSS reads pid's VmRSS every 100 ms until it stayed the same for
// settle, or for at most 10 times settle (or until ctx ends), and returns the
// last value.
func settledRSS(ctx context.Context, pid int, settle time.Duration) (int, error) {
	last, err := vmRSS(pid)
	if err != nil {
		return 0, err
	}
	since := time.Now()
	giveUp := since.Add(10 * settle)
	for time.Since(since) < settle && time.Now().Before(giveUp) {
		select {
		case <-ctx.Done():
			return last, nil
		case <-time.After(100 * time.Millisecond):
		}
		v, err := vmRSS(pid)
		if err != nil {
			return 0, err
		}
		if v != last {
			last, since = v, time.Now()
		}
	}
	return last, nil
}

// vmRSS returns the VmRSS of process pid in KiB.
func vmRSS(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("process %d: %w", pid, syscall.ESRCH)
		}
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "VmRSS:" {
			return strconv.Atoi(string(f[1]))
		}
	}
	return 0, fmt.Errorf("process %d: no VmRSS in /proc/%d/status", pid, pid)
}
