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
		before := fdtest.OpenFds()
		for range 1000 {
			p, err := mux.Open(64, mux.WithBackend(name))
			require.NoError(t, err)
			require.NoError(t, p.Close())
		}
		assert.Equal(t, before, fdtest.OpenFds())
	})
}
