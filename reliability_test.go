//go:build unix

package mux_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/internal/fdtest"
)

// 1,000 Open/Close cycles on each backend leave the fd count unchanged.
func TestOpenCloseLeaksNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, name string) {
		// One cycle first: libkqueue opens two process-wide fds with the
		// first kqueue and keeps them until exit (backend_kqueue_native_libkqueue.go,
		// difference 6); what must not grow is the count per cycle.
		p, err := mux.Open(64, mux.WithBackend(name))
		require.NoError(t, err)
		require.NoError(t, p.Close())
		before := fdtest.OpenFds()
		for range 1000 {
			p, err := mux.Open(64, mux.WithBackend(name))
			require.NoError(t, err)
			require.NoError(t, p.Close())
		}
		assert.Equal(t, before, fdtest.OpenFds())
	})
}
