//go:build linux && !race

package aeconn_test

// raceEnabled: not built with -race.
const raceEnabled = false
