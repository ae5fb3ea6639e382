// Package aeloop is a stand-in with the signatures of the real aeloop
// that the check looks at.
package aeloop

import "time"

type Loop struct{}

type TimeProc func(l *Loop, id int64, clientData any) time.Duration

type Finalizer func(l *Loop, clientData any)

const NoMore time.Duration = -1

const Readable = 1

func (l *Loop) AddTimer(after time.Duration, proc TimeProc, clientData any, fin Finalizer) (int64, error) {
	return 0, nil
}

func (l *Loop) AddEvent(fd int, mask int, proc any, clientData any) error { return nil }

func Wait(fd int, mask int, timeout time.Duration) (int, error) { return 0, nil }
