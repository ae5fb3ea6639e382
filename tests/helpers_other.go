//go:build unix && !linux

package tests

import "golang.org/x/sys/unix"

// threadSignaller returns a function that sends sig to the process:
// without tgkill(2) the kernel picks the thread, so a Wait in the calling
// thread is interrupted only sometimes (signalsHit is false).
func threadSignaller(sig unix.Signal) func() error {
	pid := unix.Getpid()
	return func() error { return unix.Kill(pid, sig) }
}

// signalsHit is false: the signals may reach other threads.
const signalsHit = false
