package tests

import (
	"testing"

	"github.com/aemux/mux"
)

// TestPoller runs the Poller suite on every backend built for this OS:
// epoll and poll on Linux, kqueue and poll on macOS and the BSDs.
func TestPoller(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			RunPoller(t, func(setsize int) (*mux.Poller, error) {
				p, err := mux.Open(setsize, mux.WithBackend(name))
				if err == nil && p.Name() != name {
					t.Errorf("Open(WithBackend(%q)) made a %q Poller", name, p.Name())
				}
				return p, err
			})
		})
	}
}
