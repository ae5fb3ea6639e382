//go:build unix && !linux

package tests

import "golang.org/x/sys/unix"

// ptThreadSignaller returns a function that sends sig to the process:
// without tgkill(2) the kernel picks the thread, so a Wait in the calling
// thread is interrupted only sometimes (ptSignalsHit is false).
func ptThreadSignaller(sig unix.Signal) func() error {
	pid := unix.Getpid()
	return func() error { return unix.Kill(pid, sig) }
}

// ptSignalsHit is false: the signals may reach other threads.
const ptSignalsHit = false
