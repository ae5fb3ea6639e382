//go:build openbsd

package anet

// OpenBSD has no per-socket keepalive timers, only sysctls: KeepAlive sets
// SO_KEEPALIVE alone. The option numbers are never used.
const (
	keepAliveTimers = false
	tcpKeepIdle     = -1
	tcpKeepIdleName = ""
	tcpKeepIntvl    = -1
	tcpKeepCnt      = -1
)
