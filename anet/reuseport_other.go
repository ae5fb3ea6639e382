//go:build unix && !freebsd

package anet

import "golang.org/x/sys/unix"

// ReusePort sets SO_REUSEPORT.
const (
	soReusePort     = unix.SO_REUSEPORT
	soReusePortName = "SO_REUSEPORT"
)
