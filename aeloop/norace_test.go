//go:build !race

package aeloop

const raceEnabled = false
