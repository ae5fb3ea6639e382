// Command aewrk is a port of wrk's event core (github.com/wg/wrk, the HTTP
// benchmarking tool built on Redis's ae) to aeloop and anet, kept close
// enough to wrk's source that the two read side by side: wrk.c's
// thread_main, connect_socket, reconnect_socket, record_rate,
// delay_request, response_complete, socket_connected, socket_writeable and
// socket_readable are in wrk.go under the same names and in the same
// order, net.c's sock_* functions in net.go, stats.c in stats.go and
// units.c in units.go. It was written from reading wrk, not copied. Lua
// scripting and TLS are left out; without a script wrk sends one static
// GET, and so does aewrk. The HTTP response parser (http.go) is a small one
// of its own in place of http_parser.
//
//	aewrk -t2 -c100 -d3s --latency http://127.0.0.1:8080/
//
// The options are wrk's (-t, -c, -d, -H, --latency, --timeout, -v), plus
// -r N, which stops after N responses (each thread stops starting
// requests once its share is sent, so every request sent gets its
// response), and --lock auto|on|off, which runs each loop on a locked OS
// thread (auto: when threads <= GOMAXPROCS).
//
// # What the port uses
//
//   - Timers in time.Duration: wrk's aeCreateTimeEvent(loop,
//     RECORD_INTERVAL_MS, ...) and record_rate's "return
//     RECORD_INTERVAL_MS;" became RECORD_INTERVAL_MS * time.Millisecond.
//     Written as bare constants they compile and mean 100 ns;
//     cmd/aeloopvet finds them (go vet -vettool=$(which aeloopvet)).
//   - aeloop's mask constants and Mask type, so wrk.go needs no import
//     of package event.
//   - RequestStop: wrk's main sleeps for the duration, sets a global flag,
//     and record_rate calls aeStop when it sees it. aewrk's main calls
//     RequestStop on every loop instead (and on SIGINT), which is kept
//     until the loop's Main takes it, so a stop that comes before a
//     thread's goroutine reached Main is not lost.
//   - anet.Resolve and anet.TCPConnectTimeout for wrk.lua's resolve step
//     (getaddrinfo, then a blocking connect to each address, keeping those
//     that answer), and anet.TCPConnectAddr for every connect and
//     reconnect to the stored address.
//   - anet.Pending for net.c's sock_readable (FIONREAD).
//   - mux.DefaultBackend for -v, where wrk prints aeGetApiName().
//   - The thread rule of package aeloop: lock a loop to its thread only
//     while there are no more loops than GOMAXPROCS.
//
// Its test serves net/http on a listener made by anet.TCPServer and handed
// to Go's net package with anet.NetListener.
//
// # Beside wrk
//
// compare.sh (in this directory) starts Debian's nginx-light on
// 127.0.0.1:18080 with a config of its own (a 615-byte page, access log
// off, two workers), runs Debian's wrk 4.1.0 and aewrk against it in
// interleaved rounds of 3 s each, and stops nginx. Measured on 2026-11-30
// on a 2-vCPU AMD EPYC virtual machine, Linux 6.18, Go 1.26, GOMAXPROCS 2,
// nginx 1.22.1, 10 rounds (two runs of compare.sh 5 3s). Caveat: nginx,
// the client and four other jobs shared the two vCPUs (load average 10 to
// 20), so single runs spread by a factor of two and more; the ratios are
// medians of the per-round ratios of runs made one right after the other.
// The client's CPU time per request (user + system, GNU time) is steadier
// than requests/s.
//
//	                 requests/s (median, range)                aewrk/wrk   client CPU per request
//	-t1 -c50   wrk   14.2k (10.2k-29.5k)   aewrk 15.0k (11.3k-22.0k)   0.90        wrk 8.8 µs   aewrk 11.2 µs (1.38x)
//	-t2 -c100  wrk   16.4k (6.2k-26.6k)    aewrk 12.4k (9.0k-20.8k)    0.78        wrk 9.1 µs   aewrk 15.1 µs (1.58x)
//
// Mean latency medians were within 10% of each other (-t1: wrk 6.4 ms,
// aewrk 5.9 ms; -t2: 15.1 ms and 14.9 ms). Both make the same system calls
// per request (one write, one read, two epoll_ctl, per strace -c over a
// 2 s run at -t1 -c50); aewrk adds the Go runtime's own, about 700 futex
// and 250 nanosleep calls a second (thread wake-ups, sysmon). How the rest
// of the CPU gap splits between the runtime, scheduling and aewrk's code
// was not measured, and single runs varied too much to tell (one pair of
// runs right after another gave 14.6 µs for aewrk and 17.7 µs for wrk).
// So on a machine this busy aewrk comes to nine tenths of wrk's requests/s
// with one thread and about four fifths with two.
//
// The same runs measured aewrk's loops locked to threads and not (--lock
// on, off). With 2 loops the medians were 13.1k and 13.4k requests/s
// (15.7 and 13.6 µs CPU per request), with 8 loops 11.3k and 13.5k (21.6
// and 20.2 µs): the direction aeloop's thread doc gives, but within this
// machine's noise; BenchmarkLoopThreads in package aeloop measures it
// without nginx.
package main
