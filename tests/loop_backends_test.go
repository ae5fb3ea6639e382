package tests

import (
	"testing"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
)

// TestLoop runs the aeloop suite on every backend built for this OS.
func TestLoop(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) {
			RunLoop(t, func(setsize int) (*aeloop.Loop, error) {
				l, err := aeloop.CreateLoop(setsize, mux.WithBackend(name))
				if err == nil && l.ApiName() != name {
					t.Errorf("CreateLoop(WithBackend(%q)) made a %q loop", name, l.ApiName())
				}
				return l, err
			})
		})
	}
}
