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
package main
