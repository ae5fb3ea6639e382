//go:build unix

package aeconn_test

import "runtime"

const (
	reusePortSpreads = runtime.GOOS == "linux" || runtime.GOOS == "freebsd"
	unixSockets      = true
)
