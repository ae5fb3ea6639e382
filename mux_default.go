package mux

import (
	"fmt"
	"os"
)

// DefaultBackend returns the name of the backend Open would pick now when
// given no WithBackend option: the one $AEMUX_BACKEND names, or else the
// first of Backends(). It is the process-wide answer to ae's aeGetApiName,
// for use before any Poller or loop exists (Poller.Name and
// aeloop's ApiName answer for one that does). A $AEMUX_BACKEND naming a
// backend that is not built here fails, as Open would, with an error
// matching ErrUnknownBackend.
func DefaultBackend() (string, error) {
	info, err := pickBackend(os.Getenv(EnvBackend))
	if err != nil {
		return "", err
	}
	return info.name, nil
}

// pickBackend finds the backend called name, or the default one for "".
func pickBackend(name string) (backendInfo, error) {
	if len(registry) == 0 {
		return backendInfo{}, fmt.Errorf("%w: no backend is built for this OS", ErrUnknownBackend)
	}
	if name == "" {
		return registry[0], nil
	}
	for _, b := range registry {
		if b.name == name {
			return b, nil
		}
	}
	return backendInfo{}, fmt.Errorf("%w: %q (built: %v)", ErrUnknownBackend, name, Backends())
}
