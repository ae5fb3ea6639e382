//go:build linux && race

package aeconn_test

// raceEnabled: the race detector shadows every byte, so memory figures
// are not the program's.
const raceEnabled = true
