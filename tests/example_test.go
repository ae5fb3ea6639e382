package tests_test

import (
	"testing"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/tests"
)

// Run the conformance suites on your own constructors, from a test: here the
// poll backend, with a set size of its own choosing. (Compiled, not run as an
// example: the suites need the *testing.T of a real test.)
func Example() {
	_ = func(t *testing.T) {
		tests.RunPoller(t, func(setsize int) (*mux.Poller, error) {
			return mux.Open(setsize, mux.WithBackend("poll"))
		})
		tests.RunLoop(t, func(setsize int) (*aeloop.Loop, error) {
			return aeloop.CreateLoop(setsize, mux.WithBackend("poll"))
		})
	}
}
