// Command aeserver is a Redis-protocol (RESP2) server written the way Redis
// is written: an ae event loop (package aeloop), anet-style sockets, replies
// written straight to the socket before the loop sleeps, and a write handler
// installed only when the kernel's buffer is full. The connection handling
// (accepting, buffers, writes, pauses, the limits on clients) is package
// aeconn's; this command has what is Redis's: commands, RESP, INFO, config
// and its logging. Real Redis clients drive it: redis-cli,
// redis-benchmark, client libraries.
//
//	go run ./cmd/aeserver                 # listens on 127.0.0.1:6380
//	redis-cli -p 6380 ping
//
// Commands: PING, ECHO, SET (EX, PX, EXAT, PXAT, NX, XX, GET, KEEPTTL), GET,
// DEL, EXISTS, INCR, DECR, INCRBY, DECRBY, MGET, MSET, EXPIRE, PEXPIRE (NX,
// XX, GT, LT), TTL, PTTL, PERSIST, TYPE, DBSIZE, FLUSHALL, FLUSHDB, LPUSH,
// RPUSH, LPOP, RPOP (with a count), LLEN, LRANGE, SADD, SCARD, SPOP, HSET,
// HGET, INFO (server, clients, stats, keyspace), CONFIG GET, COMMAND
// (COUNT, INFO), CLIENT SETNAME, GETNAME and ID, SELECT 0, QUIT. Replies and
// error texts are those of redis-server 7.0; keys expire lazily and from a
// periodic timer, as in Redis's serverCron.
//
// Unlike Redis, it asks for edge-triggered readiness where the backend has
// it (epoll, kqueue): an event then comes once per arrival instead of at
// every poll while input waits, which spares the kernel a second look at
// each ready socket (about 3% of the CPU per request under pipelined
// redis-benchmark load). A client whose read filled the buffer, and a
// listener with connections left after 1000 accepts, are served again
// before the next poll, as a level-triggered event would have done. -level
// asks for Redis's level-triggered readiness; on poll it is the only kind.
//
// With -loops N it runs N event loops, each on its own locked OS thread;
// they share one keyspace under a lock. On Linux and FreeBSD each loop has
// its own SO_REUSEPORT listener, so the kernel spreads connections among
// them; elsewhere (macOS, the other BSDs, Windows) the first loop accepts
// and hands each connection to the next loop in turn (package aeconn). It keeps one more
// GOMAXPROCS than loops (at least 2, even when pinned to one CPU): while a
// loop sleeps in epoll_wait its P counts as busy in a system call, and with
// no idle P beside it Go's sysmon takes that P away whenever the sleep
// outlasts a sysmon tick (from 20 µs), waking another thread to hold it.
// With a spare P it leaves a sleeping loop alone. Under redis-benchmark
// -c 50 -P 1, on a 2-core machine that other jobs kept busy, this cut the
// runtime's futex and nanosleep calls from about 0.20 to 0.14 per request
// and CPU per request by a few percent; with nothing else running they are
// about 0.01 per request (2026-11-30), most of them from aeloop's periodic
// yield (see aeloop's package doc).
//
// Input is bounded as in Redis: bulk arguments by -proto-max-bulk-len,
// a request's arguments to 1024*1024, a client's unparsed input and the
// argument list parsed from it by -client-query-buffer-limit, clients by
// -maxclients, which is lowered at start to fit the fd limit. Memory
// follows the bytes a client sent, never the lengths it declared: a
// 17-byte request announcing a 512 MiB argument costs a few KiB until the
// argument comes. Malformed requests get Redis's "-ERR Protocol error: ..."
// and only that connection is closed. A client that sends faster than it
// reads is not read from while more than -pause-output bytes of its replies
// are unsent, and -maxmemory-clients bounds all clients' buffers together
// (the largest are evicted). -timeout closes clients that make no progress,
// reading or taking replies. When accept fails because the process is out
// of fds anyway, waiting clients get Redis's max-clients error at once (a
// spare fd is closed to accept them), and the server keeps serving.
//
// Attackers cannot stop the loop through the log: lines are written by a
// goroutine of their own from a bounded queue (dropped and counted when
// stderr does not keep up), lines that clients cause are limited to 10 a
// second (the rest counted), client bytes are quoted, and a closed stderr
// does not kill the process (SIGPIPE is ignored). After a burst, memory is
// handed back to the OS within seconds (aeconn's Config.ReleaseMemory).
//
// On Windows (windows/amd64) it runs on mux's iocp backend, level-triggered
// (iocp has no edge mode), with the same commands and replies. -unix is
// refused (anet has no Unix sockets there); -maxclients is not fitted to an fd limit,
// as Windows has none. CI runs it under Wine and drives it with Linux's
// redis-cli and redis-benchmark.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/aemux/mux/anet"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("aeserver", flag.ContinueOnError)
	cfg := config{}
	var perm uint
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:6380", `TCP address to listen on, host:port ("" for none)`)
	fs.IntVar(&cfg.backlog, "backlog", anet.DefaultBacklog, "listen backlog (tcp-backlog); the kernel caps it at net.core.somaxconn")
	fs.StringVar(&cfg.unixPath, "unix", "", "Unix socket path to listen on as well")
	fs.UintVar(&perm, "unixperm", 0o700, "permissions of the Unix socket")
	fs.StringVar(&cfg.backend, "backend", "", "multiplexer: epoll, kqueue, poll or iocp (default: the platform's best, or $AEMUX_BACKEND)")
	fs.BoolVar(&cfg.level, "level", false, "level-triggered readiness, as Redis has it, even where the backend offers edge-triggered (epoll, kqueue), the default there")
	fs.IntVar(&cfg.loops, "loops", 1, "event loops, each on its own OS thread (with its own SO_REUSEPORT listener on Linux and FreeBSD)")
	fs.IntVar(&cfg.maxClients, "maxclients", defaultMaxClients, "connected clients at most")
	fs.Int64Var(&cfg.maxBulk, "proto-max-bulk-len", 512<<20, "longest bulk argument, bytes")
	fs.IntVar(&cfg.maxQuery, "client-query-buffer-limit", defaultMaxQuery, "longest unparsed input of a client, bytes")
	fs.IntVar(&cfg.pauseOutput, "pause-output", defaultPauseOutput, "unsent reply bytes above which a client's input is not read (bounds each client; -maxmemory-clients bounds them all)")
	fs.Int64Var(&cfg.maxClientMem, "maxmemory-clients", defaultMaxClientMem, "as Redis 7's maxmemory-clients: when all clients' buffers (input, arguments, unsent output) together pass this many bytes, "+
		"the clients with the largest are closed, checked -hz times a second; 0: no limit, Redis's default, which lets a thousand clients that never read hold gigabytes of replies")
	fs.IntVar(&cfg.hz, "hz", defaultHz, "serverCron runs per second (expiry, client housekeeping)")
	fs.DurationVar(&cfg.idle, "timeout", 0, "close clients that make no progress this long, as Redis's timeout: no byte read from them and none of their replies written, "+
		"so a client that stops reading its replies is closed too (0: never)")
	quiet := fs.Bool("quiet", false, "log nothing")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file until shutdown")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.unixPerm = os.FileMode(perm)
	// A write to a closed stderr fails with EPIPE instead of killing the
	// process (the log ignores its errors): a log reader going away must
	// not take the server down.
	signal.Ignore(syscall.SIGPIPE)
	if !*quiet {
		cfg.logger = log.New(os.Stderr, "aeserver: ", log.LstdFlags)
	}
	if err := checkConfig(&cfg, explicit(fs, "maxclients")); err != nil {
		fmt.Fprintln(os.Stderr, "aeserver:", err)
		return 2
	}
	if want := cfg.loops + 1; want > runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(want) // a spare P: see the package doc
	}
	// Catch SIGINT and SIGTERM before listening: a client (or a test) that
	// sees the port open may signal at once, and the default action would
	// kill the process without removing the Unix socket file. A signal that
	// comes before the loops run waits in the channel.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	s, err := newServer(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aeserver:", err)
		return 1
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "aeserver: -cpuprofile:", err)
			s.close()
			return 1
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	go func() {
		sig := <-sigs
		s.logf("%v: shutting down", sig)
		s.stop()
	}()
	s.logf("listening on %s%s, %d loop(s) on %s, maxclients %d", cfg.addr, unixNote(cfg.unixPath),
		cfg.loops, s.loops[0].l.ApiName(), cfg.maxClients)
	err = s.serve()
	if cerr := s.close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "aeserver:", err)
		return 1
	}
	return 0
}

func unixNote(path string) string {
	if path == "" {
		return ""
	}
	return " and " + path
}

func explicit(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) { found = found || f.Name == name })
	return found
}

// checkConfig validates the flags. maxclients is fitted to the fd limit by
// the connection layer (aeconn.Config.MaxClients), as Redis's
// adjustOpenFilesLimit does, and newServer logs it when it was lowered.
func checkConfig(cfg *config, maxClientsGiven bool) error {
	cfg.maxClientsGiven = maxClientsGiven
	switch {
	case cfg.backlog < 1:
		return fmt.Errorf("-backlog %d: want 1 or more", cfg.backlog)
	case cfg.loops < 1 || cfg.loops > 256:
		return fmt.Errorf("-loops %d: want 1 to 256", cfg.loops)
	case cfg.maxClients < 1:
		return fmt.Errorf("-maxclients %d: want 1 or more", cfg.maxClients)
	case cfg.maxBulk < 1:
		return fmt.Errorf("-proto-max-bulk-len %d: want 1 or more", cfg.maxBulk)
	case cfg.maxQuery < 1<<10:
		return fmt.Errorf("-client-query-buffer-limit %d: want 1024 or more", cfg.maxQuery)
	case cfg.pauseOutput < 1:
		return fmt.Errorf("-pause-output %d: want 1 or more", cfg.pauseOutput)
	case cfg.maxClientMem < 0:
		return fmt.Errorf("-maxmemory-clients %d: want 0 (no limit) or more", cfg.maxClientMem)
	case cfg.hz < 1 || cfg.hz > 500:
		return fmt.Errorf("-hz %d: want 1 to 500", cfg.hz)
	}
	return nil
}
