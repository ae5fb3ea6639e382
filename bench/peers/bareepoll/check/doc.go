// Package check tests ../bareepoll.c, the benchmark harness's floor: a
// single-threaded RESP server in C on bare Linux epoll (its design is in the
// comment at the top of bareepoll.c). The test builds it with cc and checks
// its replies byte for byte over TCP with package respcheck (the checks every
// peer of the harness passes), in both epoll modes and once more built
// with AddressSanitizer and LeakSanitizer. bench/run.sh builds and runs it as
// the built-in server "bareepoll". (The Go files live in this subdirectory
// because Go refuses a package directory holding C files without cgo.)
package check
