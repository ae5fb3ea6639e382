package anet

import "golang.org/x/sys/unix"

// Pending's ioctl on Linux: SIOCINQ (the same number as FIONREAD and
// TIOCINQ).
const (
	fionread     = unix.SIOCINQ
	fionreadName = "SIOCINQ"
)
