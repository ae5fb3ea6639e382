package mux_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
)

// DefaultBackend names the backend Open picks, with and without
// $AEMUX_BACKEND, and refuses what Open refuses.
func TestDefaultBackend(t *testing.T) {
	opened := func() string {
		p, err := mux.Open(8)
		require.NoError(t, err)
		defer p.Close()
		return p.Name()
	}
	for _, env := range append([]string{""}, mux.Backends()...) {
		t.Run("env="+env, func(t *testing.T) {
			t.Setenv(mux.EnvBackend, env)
			name, err := mux.DefaultBackend()
			require.NoError(t, err)
			assert.Equal(t, opened(), name)
			if env == "" {
				assert.Equal(t, mux.Backends()[0], name)
			} else {
				assert.Equal(t, env, name)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		t.Setenv(mux.EnvBackend, "devpoll")
		name, err := mux.DefaultBackend()
		assert.Empty(t, name)
		assert.True(t, errors.Is(err, mux.ErrUnknownBackend), "%v", err)
		_, openErr := mux.Open(8)
		assert.Equal(t, openErr.Error(), err.Error())
	})
}
