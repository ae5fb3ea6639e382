package notime

import "github.com/aemux/mux/aeloop"

func start(l *aeloop.Loop, proc aeloop.TimeProc) {
	l.AddTimer(250, proc, nil, nil) // want `write 250 \* time.Millisecond`
}
