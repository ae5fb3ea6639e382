//go:build darwin || dragonfly || freebsd

package mux

import "golang.org/x/sys/unix"

// The EVFILT_USER constants of backend_kqueue_user.go, on the kernels that have
// the filter (netbsd and openbsd use backend_kqueue_pipe.go).
const (
	evfiltUser  = unix.EVFILT_USER
	noteTrigger = unix.NOTE_TRIGGER
)
