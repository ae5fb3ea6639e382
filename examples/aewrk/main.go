package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
)

// VERSION is printed by -v, with the backend, as wrk prints its version
// and aeGetApiName().
const VERSION = "1.0 (wrk 4.2.0's event core)"

// cfg is wrk's config, plus the options of this port.
var cfg struct {
	connections uint64
	duration    uint64 // seconds
	threads     uint64
	timeout     uint64 // milliseconds
	pipeline    uint64
	delay       bool
	dynamic     bool
	latency     bool
	host        string
	request     []byte

	requests   uint64 // -r: stop after this many responses (not in wrk)
	lockThread bool   // each loop on its own OS thread (see --lock)
}

// summary is what a run measured, for the test.
type summary struct {
	complete, bytes uint64
	errors          errors
	latency         *stats
	runtime_us      uint64
}

func main() {
	_, code := run(os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(code)
}

// run is wrk.c's main: parse the options, resolve the host once, start the
// threads, let them run for the duration, and print the summary.
func run(args []string, stdout, stderr io.Writer) (*summary, int) {
	target, headers, err := parse_args(args, stdout, stderr)
	if err != nil {
		if err != flag.ErrHelp {
			fmt.Fprintln(stderr, err)
		}
		usage(stderr)
		return nil, 1
	}
	if target == nil {
		return nil, 0 // -v alone
	}

	service := target.Port()
	if service == "" {
		service = target.Scheme
	}
	host := target.Hostname()
	addrs, err := script_resolve(host, service)
	if err != nil {
		fmt.Fprintf(stderr, "unable to connect to %s:%s %v\n", host, service, err)
		return nil, 1
	}
	cfg.host = host
	cfg.request = request_format(target, headers)
	cfg.pipeline = 1

	statistics.latency = stats_alloc(cfg.timeout * 1000)
	statistics.requests = stats_alloc(MAX_THREAD_RATE_S)
	threads := make([]thread, cfg.threads)

	var wg sync.WaitGroup
	for i := range threads {
		t := &threads[i]
		loop, err := aeloop.CreateLoop(int(10 + cfg.connections*3))
		if err != nil {
			fmt.Fprintf(stderr, "unable to create thread %d: %v\n", i, err)
			for j := range i {
				threads[j].loop.RequestStop()
			}
			wg.Wait()
			return nil, 2
		}
		t.loop = loop
		t.connections = cfg.connections / cfg.threads
		t.addr = addrs[0]
		if cfg.requests > 0 {
			t.budget = cfg.requests / cfg.threads
			if uint64(i) < cfg.requests%cfg.threads {
				t.budget++
			}
		}
		wg.Add(1)
		go func() { defer wg.Done(); thread_main(t) }()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()

	// stop is wrk's SIGINT handler and its sleep(duration): both ask every
	// loop to stop. RequestStop is kept until the loop's Main takes it, so
	// a stop that comes before a thread reached Main is not lost.
	stop := func() {
		for i := range threads {
			threads[i].loop.RequestStop()
		}
	}
	sigint := make(chan os.Signal, 1)
	signal.Notify(sigint, os.Interrupt)
	defer signal.Stop(sigint)

	fmt.Fprintf(stdout, "Running %s test @ %s\n", format_time_s(float64(cfg.duration)), target)
	fmt.Fprintf(stdout, "  %d threads and %d connections\n", cfg.threads, cfg.connections)

	start := time_us()
	var s summary

	select {
	case <-time.After(time.Duration(cfg.duration) * time.Second):
	case <-sigint:
	case <-finished: // every thread spent its -r budget
	}
	stop()
	<-finished

	for i := range threads {
		t := &threads[i]
		s.complete += t.complete
		s.bytes += t.bytes
		s.errors.connect += t.errors.connect
		s.errors.read += t.errors.read
		s.errors.write += t.errors.write
		s.errors.timeout += t.errors.timeout
		s.errors.status += t.errors.status
	}

	s.runtime_us = time_us() - start
	runtime_s := float64(s.runtime_us) / 1000000
	req_per_s := float64(s.complete) / runtime_s
	bytes_per_s := float64(s.bytes) / runtime_s

	if s.complete/cfg.connections > 0 {
		interval := int64(s.runtime_us / (s.complete / cfg.connections))
		stats_correct(statistics.latency, interval)
	}
	s.latency = statistics.latency

	print_stats_header(stdout)
	print_stats(stdout, "Latency", statistics.latency, format_time_us)
	print_stats(stdout, "Req/Sec", statistics.requests, format_metric)
	if cfg.latency {
		print_stats_latency(stdout, statistics.latency)
	}

	fmt.Fprintf(stdout, "  %d requests in %s, %sB read\n", s.complete, format_time_us(float64(s.runtime_us)), format_binary(float64(s.bytes)))
	e := s.errors
	if e.connect != 0 || e.read != 0 || e.write != 0 || e.timeout != 0 {
		fmt.Fprintf(stdout, "  Socket errors: connect %d, read %d, write %d, timeout %d\n", e.connect, e.read, e.write, e.timeout)
	}
	if e.status != 0 {
		fmt.Fprintf(stdout, "  Non-2xx or 3xx responses: %d\n", e.status)
	}
	fmt.Fprintf(stdout, "Requests/sec: %9.2f\n", req_per_s)
	fmt.Fprintf(stdout, "Transfer/sec: %10sB\n", format_binary(bytes_per_s))
	return &s, 0
}

// script_resolve is wrk.lua's wrk.resolve: look host and service up once,
// then keep the addresses that accept a connection (wrk.connect, a
// blocking connect, here with the socket timeout).
func script_resolve(host, service string) ([]netip.AddrPort, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.timeout)*time.Millisecond)
	defer cancel()
	addrs, err := anet.Resolve(ctx, host, service)
	if err != nil {
		return nil, err
	}
	var ok []netip.AddrPort
	for _, a := range addrs {
		fd, cerr := anet.TCPConnectTimeout(a, time.Duration(cfg.timeout)*time.Millisecond)
		if cerr != nil {
			err = cerr
			continue
		}
		anet.Close(fd)
		ok = append(ok, a)
	}
	if len(ok) == 0 {
		return nil, err
	}
	return ok, nil
}

// request_format is wrk.lua's wrk.format for a GET of the URL's path.
func request_format(u *url.URL, headers []string) []byte {
	path := u.RequestURI()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\n", path)
	hasHost := false
	for _, h := range headers {
		name, _, _ := strings.Cut(h, ":")
		hasHost = hasHost || strings.EqualFold(strings.TrimSpace(name), "Host")
		b.WriteString(h + "\r\n")
	}
	if !hasHost {
		b.WriteString("Host: " + u.Host + "\r\n")
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: aewrk <options> <url>
  Options:
    -c, --connections <N>  Connections to keep open
    -d, --duration    <T>  Duration of test
    -t, --threads     <N>  Number of threads to use

    -H, --header      <H>  Add header to request
        --latency          Print latency statistics
        --timeout     <T>  Socket/request timeout
    -r, --requests    <N>  Stop after N responses (not in wrk)
        --lock     <mode>  Lock each loop to an OS thread: auto (when
                           threads <= GOMAXPROCS), on, off (not in wrk)
    -v, --version          Print version details

  Numeric arguments may include a SI unit (1k, 1M, 1G)
  Time arguments may include a time unit (2s, 2m, 2h)
`)
}

// headerList collects -H options.
type headerList []string

func (h *headerList) String() string     { return strings.Join(*h, ", ") }
func (h *headerList) Set(v string) error { *h = append(*h, v); return nil }

// parse_args is wrk's: the same options and defaults (2 threads, 10
// connections, 10 s, a 2 s timeout), "-t2" and "-t 2" alike.
func parse_args(args []string, stdout, stderr io.Writer) (*url.URL, []string, error) {
	cfg.threads, cfg.connections, cfg.duration, cfg.timeout = 2, 10, 10, SOCKET_TIMEOUT_MS
	cfg.latency, cfg.requests = false, 0
	var threads, connections, duration, timeout, requests, lock string
	var headers headerList
	var version bool
	fs := flag.NewFlagSet("aewrk", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, name := range []string{"t", "threads"} {
		fs.StringVar(&threads, name, "2", "")
	}
	for _, name := range []string{"c", "connections"} {
		fs.StringVar(&connections, name, "10", "")
	}
	for _, name := range []string{"d", "duration"} {
		fs.StringVar(&duration, name, "10s", "")
	}
	for _, name := range []string{"r", "requests"} {
		fs.StringVar(&requests, name, "0", "")
	}
	for _, name := range []string{"H", "header"} {
		fs.Var(&headers, name, "")
	}
	for _, name := range []string{"v", "version"} {
		fs.BoolVar(&version, name, false, "")
	}
	fs.StringVar(&timeout, "timeout", "2s", "")
	fs.BoolVar(&cfg.latency, "latency", false, "")
	fs.StringVar(&lock, "lock", "auto", "")
	if err := fs.Parse(splitShort(args)); err != nil {
		return nil, nil, err
	}
	if version {
		name, err := mux.DefaultBackend()
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stdout, "aewrk %s [%s] ", VERSION, name)
		fmt.Fprintln(stdout, "after wrk, Copyright (C) 2012 Will Glozer")
		if fs.NArg() == 0 {
			return nil, nil, nil
		}
	}
	var err error
	for _, o := range []struct {
		text string
		n    *uint64
		scan func(string) (uint64, error)
	}{
		{threads, &cfg.threads, scan_metric},
		{connections, &cfg.connections, scan_metric},
		{duration, &cfg.duration, scan_time},
		{timeout, &cfg.timeout, scan_time},
		{requests, &cfg.requests, scan_metric},
	} {
		if *o.n, err = o.scan(o.text); err != nil {
			return nil, nil, err
		}
	}
	cfg.timeout *= 1000
	switch lock {
	case "auto":
		cfg.lockThread = cfg.threads <= uint64(runtime.GOMAXPROCS(0))
	case "on", "off":
		cfg.lockThread = lock == "on"
	default:
		return nil, nil, fmt.Errorf("--lock: want auto, on or off, not %q", lock)
	}
	if fs.NArg() != 1 || cfg.threads == 0 || cfg.duration == 0 {
		return nil, nil, fmt.Errorf("want one URL, threads and a duration")
	}
	u, err := url.Parse(fs.Arg(0))
	if err != nil || u.Host == "" {
		return nil, nil, fmt.Errorf("invalid URL: %s", fs.Arg(0))
	}
	if u.Scheme != "http" {
		return nil, nil, fmt.Errorf("only http URLs: this port has no TLS")
	}
	if cfg.connections == 0 || cfg.connections < cfg.threads {
		return nil, nil, fmt.Errorf("number of connections must be >= threads")
	}
	if cfg.requests != 0 && cfg.requests < cfg.threads {
		return nil, nil, fmt.Errorf("number of requests must be >= threads")
	}
	return u, headers, nil
}

// splitShort turns getopt's "-t2" into "-t", "2" for package flag.
func splitShort(args []string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && strings.ContainsRune("tcdrH", rune(a[1])) && a[2] != '=' {
			out = append(out, a[:2], a[2:])
			continue
		}
		out = append(out, a)
	}
	return out
}

func print_stats_header(w io.Writer) {
	fmt.Fprintf(w, "  Thread Stats%6s%11s%8s%12s\n", "Avg", "Stdev", "Max", "+/- Stdev")
}

// print_units prints n in width columns, unit letters hanging right as in
// wrk.
func print_units(w io.Writer, n float64, format func(float64) string, width int) {
	msg := format(n)
	pad := 2
	if len(msg) > 0 && unicode.IsLetter(rune(msg[len(msg)-1])) {
		pad--
	}
	if len(msg) > 1 && unicode.IsLetter(rune(msg[len(msg)-2])) {
		pad--
	}
	width -= pad
	fmt.Fprintf(w, "%*s%s", width, msg, "  "[:pad])
}

func print_stats(w io.Writer, name string, s *stats, format func(float64) string) {
	mean := stats_mean(s)
	stdev := stats_stdev(s, mean)
	fmt.Fprintf(w, "    %-10s", name)
	print_units(w, mean, format, 8)
	print_units(w, stdev, format, 10)
	print_units(w, float64(s.max), format, 9)
	fmt.Fprintf(w, "%8.2f%%\n", stats_within_stdev(s, mean, stdev, 1))
}

func print_stats_latency(w io.Writer, s *stats) {
	fmt.Fprintf(w, "  Latency Distribution\n")
	for _, p := range []float64{50, 75, 90, 99} {
		n := stats_percentile(s, p)
		fmt.Fprintf(w, "%7.0f%%", p)
		print_units(w, float64(n), format_time_us, 10)
		fmt.Fprintln(w)
	}
}
