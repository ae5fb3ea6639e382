//go:build dragonfly || freebsd || linux || netbsd

package anet

import "golang.org/x/sys/unix"

// KeepAlive's per-socket timers.
const (
	keepAliveTimers = true
	tcpKeepIdle     = unix.TCP_KEEPIDLE
	tcpKeepIdleName = "TCP_KEEPIDLE"
	tcpKeepIntvl    = unix.TCP_KEEPINTVL
	tcpKeepCnt      = unix.TCP_KEEPCNT
)
