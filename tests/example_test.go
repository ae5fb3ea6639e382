package tests_test

import (
	"testing"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/tests"
)

// Run the conformance suites on your own constructors, from a test: here the
// poll backend. The suites pass options of their own (a mode for the Edge
// and Oneshot scenarios), so the constructors append them to their own.
// (Compiled, not run as an example: the suites need the *testing.T of a
// real test.)
func Example() {
	_ = func(t *testing.T) {
		tests.RunPoller(t, func(setsize int, opts ...mux.Option) (*mux.Poller, error) {
			return mux.Open(setsize, append([]mux.Option{mux.WithBackend("poll")}, opts...)...)
		})
		tests.RunLoop(t, func(setsize int, opts ...mux.Option) (*aeloop.Loop, error) {
			return aeloop.CreateLoop(setsize, append([]mux.Option{mux.WithBackend("poll")}, opts...)...)
		})
	}
}
