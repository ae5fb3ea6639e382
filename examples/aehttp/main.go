package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeconn"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "TCP address to listen on")
	loops := flag.Int("loops", 1, "event loops, each on its own OS thread")
	backend := flag.String("backend", "", "mux backend (epoll, kqueue, poll, iocp); empty: the platform's default")
	edge := flag.Bool("edge", false, "edge-triggered readiness where the backend has it")
	flag.Parse()
	if want := *loops + 1; want > runtime.GOMAXPROCS(0) {
		runtime.GOMAXPROCS(want) // a spare P beside the loops: aeconn's package doc, "Threads"
	}
	cfg := aeconn.Config{Listen: []aeconn.Listen{{Network: "tcp", Addr: *addr}}, Loops: *loops, Backend: *backend,
		MaxInput: MaxHeaderBytes + MaxBody}
	if *edge {
		cfg.Mode = mux.Edge
	}
	srv, err := newServer(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aehttp:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		srv.Stop()
	}()
	fmt.Println("aehttp: listening on", srv.Addrs()[0])
	err = srv.Serve()
	srv.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "aehttp:", err)
		os.Exit(1)
	}
}
