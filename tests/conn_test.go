package tests

import (
	"errors"
	"testing"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeconn"
)

// TestConn runs the aeconn suite on every backend built for this OS, in
// each mode it has: level-triggered everywhere, edge-triggered on epoll and
// kqueue.
func TestConn(t *testing.T) {
	for _, name := range mux.Backends() {
		modes := []mux.Mode{mux.Level}
		p, err := mux.Open(16, mux.WithBackend(name), mux.WithMode(mux.Edge))
		switch {
		case err == nil:
			p.Close()
			modes = append(modes, mux.Edge)
		case !errors.Is(err, errors.ErrUnsupported):
			t.Fatalf("open %s: %v", name, err)
		}
		for _, mode := range modes {
			t.Run(name+"/"+mode.String(), func(t *testing.T) {
				RunConn(t, func(cfg *aeconn.Config) {
					cfg.Backend, cfg.Mode = name, mode
				})
			})
		}
	}
}
