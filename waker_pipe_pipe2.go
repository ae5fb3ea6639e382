//go:build dragonfly || freebsd || netbsd || openbsd

package mux

import "golang.org/x/sys/unix"

// pipeCloexec makes a pipe whose ends are close-on-exec from the start.
func pipeCloexec(p *[2]int) error {
	return syscallErr("pipe2", unix.Pipe2(p[:], unix.O_CLOEXEC))
}
