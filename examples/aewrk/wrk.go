package main

import (
	"net/netip"
	"runtime"
	"time"

	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
)

// The constants of wrk.h.
const (
	RECVBUF            = 8192
	MAX_THREAD_RATE_S  = 10000000
	SOCKET_TIMEOUT_MS  = 2000
	RECORD_INTERVAL_MS = 100
)

// errors counts failures by kind (stats.h).
type errors struct {
	connect, read, write, status, timeout uint32
}

// thread is one event loop with its connections (wrk.h's thread). Only its
// loop goroutine touches it until main has waited for it.
type thread struct {
	loop        *aeloop.Loop
	addr        netip.AddrPort // wrk: a struct addrinfo from getaddrinfo
	connections uint64
	complete    uint64
	requests    uint64
	bytes       uint64
	start       uint64
	errors      errors
	cs          []connection
	// Not in wrk: a request budget (-r), so that a run can be checked
	// request by request. sent counts requests started.
	budget, sent uint64
}

// connection is one connection of a thread (wrk.h's connection).
type connection struct {
	thread  *thread
	parser  parser
	fd      int
	delayed bool
	start   uint64
	request []byte
	written int
	pending uint64
	buf     [RECVBUF]byte
}

// statistics are shared by every thread, as in wrk.
var statistics struct {
	latency  *stats
	requests *stats
}

// epoch is the origin of time_us: the monotonic clock, not gettimeofday,
// so a clock step cannot skew latencies.
var epoch = time.Now()

func time_us() uint64 { return uint64(time.Since(epoch).Microseconds()) }

// thread_main runs one thread's loop until main requests the stop.
func thread_main(t *thread) {
	if cfg.lockThread {
		// One loop per core at most: see the thread doc of package aeloop.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	request := cfg.request

	t.cs = make([]connection, t.connections)
	for i := range t.cs {
		c := &t.cs[i]
		c.thread = t
		c.fd = -1
		c.request = request
		c.delayed = cfg.delay
		connect_socket(t, c)
	}

	loop := t.loop
	loop.AddTimer(RECORD_INTERVAL_MS*time.Millisecond, record_rate, t, nil)

	t.start = time_us()
	loop.Main()

	loop.Close()
	// wrk leaves its sockets to the process's exit; a test runs many
	// times in one process, so close them.
	for i := range t.cs {
		if t.cs[i].fd >= 0 {
			anet.Close(t.cs[i].fd)
		}
	}
	t.cs = nil
}

func connect_socket(t *thread, c *connection) int {
	loop := t.loop
	// socket, O_NONBLOCK and connect in one: the address was resolved once.
	fd, err := anet.TCPConnectAddr(t.addr)
	if err != nil {
		t.errors.connect++
		c.fd = -1
		return -1
	}

	anet.TCPNoDelay(fd, true)

	flags := aeloop.Readable | aeloop.Writable
	if loop.AddEvent(fd, flags, socket_connected, c) == nil {
		c.parser.data = c
		c.parser.on_message_complete = response_complete
		c.fd = fd
		return fd
	}

	t.errors.connect++
	anet.Close(fd)
	c.fd = -1
	return -1
}

func reconnect_socket(t *thread, c *connection) int {
	t.loop.DelEvent(c.fd, aeloop.Writable|aeloop.Readable)
	sock_close(c)
	anet.Close(c.fd)
	return connect_socket(t, c)
}

// record_rate samples the thread's requests per second every
// RECORD_INTERVAL_MS. wrk also stops the loop here when its global stop
// flag is set; this port's main calls RequestStop instead, which reaches
// the loop even before it runs.
func record_rate(loop *aeloop.Loop, id int64, data any) time.Duration {
	t := data.(*thread)

	if t.requests > 0 {
		elapsed_ms := (time_us() - t.start) / 1000
		requests := uint64(float64(t.requests) / float64(max(elapsed_ms, 1)) * 1000)

		stats_record(statistics.requests, requests)

		t.requests = 0
		t.start = time_us()
	}

	return RECORD_INTERVAL_MS * time.Millisecond
}

// delay_request sends a delayed request (wrk's Lua delay(); never without
// a script, kept for the structure).
func delay_request(loop *aeloop.Loop, id int64, data any) time.Duration {
	c := data.(*connection)
	c.delayed = false
	loop.AddEvent(c.fd, aeloop.Writable, socket_writeable, c)
	return aeloop.NoMore
}

func response_complete(p *parser) {
	c := p.data.(*connection)
	t := c.thread
	now := time_us()
	status := p.status

	t.complete++
	t.requests++

	if status > 399 {
		t.errors.status++
	}

	c.pending--
	if c.pending == 0 {
		if !stats_record(statistics.latency, now-c.start) {
			t.errors.timeout++
		}
		c.delayed = cfg.delay
		t.loop.AddEvent(c.fd, aeloop.Writable, socket_writeable, c)
	}

	if t.budget > 0 && t.complete >= t.budget {
		t.loop.Stop() // not in wrk: the -r budget is spent
	}

	if !http_should_keep_alive(p) {
		reconnect_socket(t, c)
		return
	}

	http_parser_init(p)
}

func socket_connected(loop *aeloop.Loop, fd int, data any, mask aeloop.Mask) {
	c := data.(*connection)

	if !proceed(c, sock_connect(c, cfg.host), &c.thread.errors.connect) {
		return
	}

	http_parser_init(&c.parser)
	c.written = 0

	loop.AddEvent(fd, aeloop.Readable, socket_readable, c)
	loop.AddEvent(fd, aeloop.Writable, socket_writeable, c)
}

func socket_writeable(loop *aeloop.Loop, fd int, data any, mask aeloop.Mask) {
	c := data.(*connection)
	t := c.thread

	if c.delayed {
		// wrk asks the Lua script for the delay; without a script there
		// is none.
		var delay time.Duration
		loop.DelEvent(fd, aeloop.Writable)
		loop.AddTimer(delay, delay_request, c, nil)
		return
	}

	if c.written == 0 {
		if t.budget > 0 && t.sent >= t.budget {
			loop.DelEvent(fd, aeloop.Writable) // not in wrk: budget spent
			return
		}
		t.sent++
		c.start = time_us()
		c.pending = cfg.pipeline
	}

	buf := c.request[c.written:]
	var n int

	if !proceed(c, sock_write(c, buf, &n), &t.errors.write) {
		return
	}

	c.written += n
	if c.written == len(c.request) {
		c.written = 0
		loop.DelEvent(fd, aeloop.Writable)
	}
}

func socket_readable(loop *aeloop.Loop, fd int, data any, mask aeloop.Mask) {
	c := data.(*connection)
	var n int

	for {
		if !proceed(c, sock_read(c, &n), &c.thread.errors.read) {
			return
		}

		if http_parser_execute(&c.parser, c.buf[:n]) != n || (n == 0 && !http_body_is_final(&c.parser)) {
			failed(c, &c.thread.errors.read)
			return
		}

		c.thread.bytes += uint64(n)
		if !(n == RECVBUF && sock_readable(c) > 0) {
			return
		}
	}
}

// proceed is wrk's switch on what a sock call returned: OK goes on (true);
// ERROR is wrk's "goto error" (failed) and RETRY waits for the next event,
// both false.
func proceed(c *connection, s status, count *uint32) bool {
	switch s {
	case ERROR:
		failed(c, count)
		return false
	case RETRY:
		return false
	}
	return true
}

// failed is the "error:" label of wrk's socket handlers: count the failure
// in *count (one of the thread's errors) and reconnect.
func failed(c *connection, count *uint32) {
	*count++
	reconnect_socket(c.thread, c)
}
