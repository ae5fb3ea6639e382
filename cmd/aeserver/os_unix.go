//go:build unix

package main

// manyLoops: -loops N gives each loop its own SO_REUSEPORT listener.
const manyLoops = true
