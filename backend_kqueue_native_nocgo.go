//go:build linux && libkqueue && !cgo

package mux

// The libkqueue build tag builds the kqueue backend over libkqueue through
// cgo. Without cgo it cannot: stop here with a name that says why, rather
// than with the undefined native layer.
var _ = libkqueue_build_tag_needs_cgo_set_CGO_ENABLED_1_and_install_a_C_compiler
