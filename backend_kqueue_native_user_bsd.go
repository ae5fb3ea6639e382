//go:build darwin || dragonfly || freebsd

package mux

import "golang.org/x/sys/unix"

// The EVFILT_USER constants of kqueue_user.go, on the kernels that have
// the filter (netbsd and openbsd use kqueue_pipe.go).
const (
	evfiltUser  = unix.EVFILT_USER
	noteTrigger = unix.NOTE_TRIGGER
)
