package tests

import (
	"testing"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
)

// TestPoller runs the Poller suite on every backend built for this OS:
// epoll and poll on Linux (and kqueue with -tags libkqueue), kqueue and poll
// on macOS and the BSDs, iocp on Windows.
func TestPoller(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			RunPoller(t, func(setsize int, opts ...mux.Option) (*mux.Poller, error) {
				p, err := mux.Open(setsize, append([]mux.Option{mux.WithBackend(name)}, opts...)...)
				if err == nil && p.Name() != name {
					t.Errorf("Open(WithBackend(%q)) made a %q Poller", name, p.Name())
				}
				return p, err
			})
		})
	}
}

// TestLoop runs the aeloop suite on every backend built for this OS.
func TestLoop(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			RunLoop(t, func(setsize int, opts ...mux.Option) (*aeloop.Loop, error) {
				l, err := aeloop.CreateLoop(setsize, append([]mux.Option{mux.WithBackend(name)}, opts...)...)
				if err == nil && l.ApiName() != name {
					t.Errorf("CreateLoop(WithBackend(%q)) made a %q loop", name, l.ApiName())
				}
				return l, err
			})
		})
	}
}
