//go:build darwin

package mux

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// pipeCloexec makes a close-on-exec pipe. Darwin has no pipe2(2), so the
// flag is set after pipe(2) under syscall.ForkLock, as Go's os package does,
// so that no fork in between inherits the ends.
func pipeCloexec(p *[2]int) error {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	if err := unix.Pipe(p[:]); err != nil {
		return syscallErr("pipe", err)
	}
	unix.CloseOnExec(p[0])
	unix.CloseOnExec(p[1])
	return nil
}
