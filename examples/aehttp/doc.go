// Command aehttp is an HTTP/1.1 server on package aeconn that answers
// TechEmpower's plaintext and json tests: GET /plaintext ("Hello, World!")
// and GET /json ({"message":"Hello, World!"}, serialized per request), with
// the Server header and a Date header that a timer of each loop refreshes
// every second, keep-alive, pipelining, 400 for a malformed request, 414
// and 431 for a request line or head over 8 KiB, and Connection: close
// (also HTTP/1.0 without keep-alive) answered and honoured.
//
//	aehttp -addr 127.0.0.1:8080 [-loops N] [-backend epoll|kqueue|poll|iocp] [-edge]
//
// The server is server.go, 60 lines: aeconn does the connection handling
// (reads into the loop's buffer, pipelined requests split across reads,
// replies flushed once per loop iteration, output limits, close after the
// last reply). parser.go is the request parser, main.go the flags. A
// request that does not parse is answered with its status and
// "Connection: close", and the conn is closed once that is sent; the input
// after it is dropped.
//
// bench/http.sh runs Debian's wrk against aehttp, a net/http server and a
// gnet v2 server (both under bench/peers), each pinned to one core.
package main
