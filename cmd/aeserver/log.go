package main

import (
	"fmt"
	"log"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The server's log never blocks an event loop and never repeats what a
// client can make it say more than a few times a second:
//
//   - A loop formats a line and hands it to a queue of logQueue lines; one
//     goroutine writes them to the sink (stderr). When the queue is full
//     (stderr is a pipe nobody reads, a slow terminal) the line is dropped
//     and counted, and the writer says how many were dropped once it can
//     write again. A loop never waits for stderr, and SIGTERM still stops
//     the server with stderr blocked.
//   - Lines a client causes (protocol errors, closed clients, failed
//     accepts) share a budget of clientLogBudget lines per second; the
//     rest are counted and reported once a second as "N messages
//     suppressed", as redis-server keeps them out of its log below its
//     verbose level.
//   - Bytes a client sent are never written raw: they are quoted (Go
//     syntax, control bytes escaped) and cut to logQuoteMax bytes.
//
// A write to a closed stderr fails with EPIPE instead of killing the
// process: main ignores SIGPIPE.
const (
	logQueue        = 256
	clientLogBudget = 10
	logQuoteMax     = 64
	logCloseWait    = time.Second // how long close waits for the queue to drain
)

// logger is the server's asynchronous log. A nil *logger logs nothing.
type logger struct {
	out     *log.Logger
	lines   chan string
	quit    chan struct{}
	done    chan struct{}
	dropped atomic.Uint64 // lines dropped for a full queue, not yet reported
	closed  sync.Once

	mu         sync.Mutex // the budget, shared by the loops
	second     int64      // the Unix second the budget is for
	used       int        // lines logged in that second
	suppressed int        // lines over the budget since the last report
}

// newLogger starts the writer of out; nil out gives a nil logger.
func newLogger(out *log.Logger) *logger {
	if out == nil {
		return nil
	}
	lg := &logger{out: out, lines: make(chan string, logQueue), quit: make(chan struct{}), done: make(chan struct{})}
	go lg.run()
	return lg
}

// run writes the queued lines until close.
func (lg *logger) run() {
	defer close(lg.done)
	for {
		select {
		case line := <-lg.lines:
			lg.write(line)
		case <-lg.quit:
			for {
				select {
				case line := <-lg.lines:
					lg.write(line)
				default:
					lg.write("") // a last count of dropped lines
					return
				}
			}
		}
	}
}

func (lg *logger) write(line string) {
	if line != "" {
		lg.out.Print(line) // errors (EPIPE on a closed stderr) are ignored: nowhere to report them
	}
	if n := lg.dropped.Swap(0); n > 0 {
		lg.out.Printf("%d log lines dropped: the log's reader is too slow", n)
	}
}

// printf queues a line; it never blocks.
func (lg *logger) printf(format string, args ...any) {
	if lg == nil {
		return
	}
	select {
	case lg.lines <- fmt.Sprintf(format, args...):
	default:
		lg.dropped.Add(1)
	}
}

// clientf queues a line caused by a client, within the per-second budget.
func (lg *logger) clientf(now time.Time, format string, args ...any) {
	if lg == nil {
		return
	}
	lg.mu.Lock()
	lg.rollover(now)
	ok := lg.used < clientLogBudget
	if ok {
		lg.used++
	} else {
		lg.suppressed++
	}
	lg.mu.Unlock()
	if ok {
		lg.printf(format, args...)
	}
}

// tick reports the lines suppressed in the past second(s); the cron calls
// it, so that the count comes even when the client stopped.
func (lg *logger) tick(now time.Time) {
	if lg == nil {
		return
	}
	lg.mu.Lock()
	lg.rollover(now)
	lg.mu.Unlock()
}

// rollover starts a new second's budget, reporting what the last one
// suppressed. lg.mu is held.
func (lg *logger) rollover(now time.Time) {
	sec := now.Unix()
	if sec == lg.second {
		return
	}
	lg.second, lg.used = sec, 0
	if lg.suppressed > 0 {
		lg.printf("%d messages suppressed (more than %d a second caused by clients)", lg.suppressed, clientLogBudget)
		lg.suppressed = 0
	}
}

// close writes what is queued, waiting logCloseWait at most (the sink may
// be blocked for good), and stops the writer.
func (lg *logger) close() {
	if lg == nil {
		return
	}
	lg.closed.Do(func() {
		lg.mu.Lock()
		lg.rollover(time.Now().Add(time.Second)) // the last suppressed count
		lg.mu.Unlock()
		close(lg.quit)
		select {
		case <-lg.done:
		case <-time.After(logCloseWait):
		}
	})
}

// quoteClient renders bytes a client sent for the log: quoted, control and
// invalid bytes escaped, cut to logQuoteMax bytes ("..." after the quote
// says it was cut).
func quoteClient(s string) string {
	if len(s) <= logQuoteMax {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:logQuoteMax]) + "..."
}
