// Package aeconn is the connection layer for servers and clients on
// aeloop: the part of a Redis-style server between the event loop and the
// protocol. It accepts, reads, buffers, writes and closes connections, and
// applies the limits a server needs, so that a program only parses what
// comes in and writes what goes out:
//
//	srv, err := aeconn.New(aeconn.Config{Listen: []aeconn.Listen{{Network: "tcp", Addr: "127.0.0.1:7000"}}},
//		aeconn.Handler[state]{OnData: func(c *aeconn.Conn[state], in []byte) int {
//			// parse in, c.Write replies, return how much was consumed
//		}})
//	go srv.Serve()
//	defer srv.Close()
//
// # The model
//
// A Server runs Config.Loops aeloop loops; each conn belongs to one, and
// every callback of a conn runs on its loop's goroutine, so handlers need no
// locks. T is the type of the per-conn Data field: each callback gets the
// *Conn[T], and reaches its state as c.Data, without a type assertion.
//
// Reading (Redis's readQueryFromClient): when a conn is readable, the loop
// reads into one buffer it shares with all its conns and passes the bytes
// to OnData, which returns how many it consumed. Only what it leaves (an
// incomplete request) is copied, into a buffer of the conn's own sized to
// those bytes, and given back with the next bytes; it is released once
// consumed. Memory follows the bytes a peer sent, never a length it
// declared; input left unconsumed beyond Config.MaxInput closes the conn.
//
// Writing (Redis's handleClientsWithPendingWrites): Write appends to the
// conn's output and queues the conn; before the loop polls again, every
// queued conn is written straight to its socket, and only a conn whose
// output the kernel did not take in full gets a write handler, removed
// again once it is sent. Output buffers come from a per-loop pool and go
// back to it when sent, so a steady request-reply exchange allocates
// nothing and an idle conn holds no buffer at all. Handler.BeforeSleep,
// if set, runs just before that pass (Redis's beforeSleep): work done once
// per batch of events, whose writes go out in the same pass.
//
// Limits: a conn whose unsent output is above Config.SoftOutput is no
// longer read until it drains below it (so a client that pipelines and
// never reads holds at most that, plus the replies to one read); above
// Config.HardOutput it is closed (Redis's client-output-buffer-limit).
// Config.MaxClients bounds accepted conns, lowered at start to what the fd
// limit allows, and Handler.OnReject may answer the refused ones. One timer
// per loop closes conns idle for Config.IdleTimeout; a conn is active when
// a read or a write moved at least a byte, so a client that never reads
// its replies is idle too.
//
// Config.MaxMemory bounds what all conns hold together (Redis 7's
// maxmemory-clients): the cron closes the conns holding the most
// (Conn.Memory, with Handler.Footprint's part) while the sum is over it.
// Config.ReleaseMemory hands memory freed after such a burst back to the
// OS, where Go's runtime would keep it for minutes.
//
// Closing: Close closes at once; CloseAfterWrite (QUIT) closes once the
// output is sent. When a peer shuts down its side, the replies to what it
// sent still go out, then the conn closes (OnClose gets io.EOF).
//
// Accepting: from every listener of Config.Listen ("tcp", "tcp6", "unix"),
// up to Config.AcceptBatch connections per event. Out of fds (EMFILE), the
// loop stops watching its listeners until a conn closes or 100 ms pass,
// instead of spinning; with Config.RejectOutOfFds, a spare fd kept for
// the purpose lets it accept the waiting connections one at a time and
// answer them through OnReject (Redis's "max number of clients reached")
// instead of leaving them to time out in the backlog. With several loops, each has its own listeners where
// the kernel spreads accepts over them (SO_REUSEPORT on Linux,
// SO_REUSEPORT_LB on FreeBSD); elsewhere, and for Unix sockets, the first
// loop accepts and hands the conns to the loops in turn with Post.
//
// Clients: Loop.Dial (or Server.Dial from any goroutine) connects without
// blocking, with a timeout, and gives the same Conn, so a client (a load
// generator, a proxy's upstream side) is written the same way. A Server
// without listeners is a client.
//
// # Edge-triggered loops
//
// With Config.Mode mux.Edge (epoll, kqueue), readiness is reported once
// per arrival. The layer keeps the contract that mode needs: a read that
// filled the buffer is followed by another before the loop sleeps (after
// the other conns had their turn), and once the peer's hang-up was reported
// a short read is not taken as the end: the conn is read until EAGAIN or
// end of stream, so a FIN that came with the last data is never missed. A
// conn whose reading resumes after a pause is read again without waiting
// for an event. On backends without Edge (poll, iocp) the loops are
// level-triggered; Loop.Edge says which.
//
// # Errors and logging
//
// The layer logs nothing; Server.Stats has its counters (conns accepted,
// rejected and evicted, bytes in and out: what Redis's INFO reports).
// Why a conn closed reaches OnClose (io.EOF, an errno, ErrOutputLimit, ErrInputLimit, ErrIdle, ErrDialTimeout, ErrClosed);
// what goes wrong outside a conn (a failed accept, accepting paused,
// MaxClients lowered) reaches Handler.OnError. Both run on the loop: a
// program that logs hands the line to a goroutine of its own, so that a
// slow or full log never stops the loop.
//
// # Threads
//
// Serve runs each loop on a goroutine locked to its OS thread while there
// are no more loops than GOMAXPROCS. Give the runtime one P more than
// loops (runtime.GOMAXPROCS(Loops+1), even on one CPU): a loop asleep in
// the kernel's wait holds its P as if in a system call, and with no idle P
// beside it the runtime's sysmon hands that P to another thread whenever
// the sleep outlasts one of its ticks, which costs futex and nanosleep
// calls on every such sleep. The layer leaves GOMAXPROCS to the program;
// cmd/aeserver and examples/aehttp raise it so.
//
// # Platforms
//
// Every OS aemux builds for, every backend and mode: epoll, kqueue, poll,
// and iocp on Windows (where "unix" listeners and Dial fail with
// errors.ErrUnsupported, as anet's do, and accepts are handed off). The
// conformance suite for the layer is tests.RunConn.
package aeconn
