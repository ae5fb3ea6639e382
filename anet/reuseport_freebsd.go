//go:build freebsd

package anet

import "golang.org/x/sys/unix"

// On FreeBSD, SO_REUSEPORT lets listeners share a port but sends every
// connection to one of them; SO_REUSEPORT_LB (FreeBSD 12 and later)
// spreads connections over the group, which is what ReusePort promises.
const (
	soReusePort     = unix.SO_REUSEPORT_LB
	soReusePortName = "SO_REUSEPORT_LB"
)
