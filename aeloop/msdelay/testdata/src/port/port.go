package port

import (
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/anet"
)

const RECORD_INTERVAL_MS = 100

const interval time.Duration = 100 * time.Millisecond

type thread struct{ loop *aeloop.Loop }

func recordRate(l *aeloop.Loop, id int64, data any) time.Duration {
	if data == nil {
		return aeloop.NoMore
	}
	if id > 5 {
		return -1 // AE_NOMORE: the same value as aeloop.NoMore
	}
	if id > 3 {
		return 0
	}
	if id > 2 {
		return interval
	}
	return RECORD_INTERVAL_MS // want `untyped constant RECORD_INTERVAL_MS as a TimeProc's delay is 100 nanoseconds, not milliseconds as in ae: write RECORD_INTERVAL_MS \* time.Millisecond`
}

func (t *thread) tick(l *aeloop.Loop, id int64, data any) time.Duration {
	return 2 * RECORD_INTERVAL_MS // want `untyped constant 2 \* RECORD_INTERVAL_MS as a TimeProc's delay is 200 nanoseconds`
}

func setup(t *thread, fd int) {
	l := t.loop
	l.AddTimer(RECORD_INTERVAL_MS, recordRate, t, nil) // want `untyped constant RECORD_INTERVAL_MS as AddTimer's after is 100 nanoseconds`
	l.AddTimer(1000, t.tick, nil, nil)                 // want `untyped constant 1000 as AddTimer's after`
	l.AddTimer(100*time.Millisecond, recordRate, t, nil)
	l.AddTimer(interval, recordRate, t, nil)
	l.AddTimer(0, recordRate, t, nil)
	l.AddTimer(time.Duration(RECORD_INTERVAL_MS)*time.Millisecond, recordRate, t, nil)
	l.AddTimer(1e3, recordRate, nil, nil) // want `untyped constant 1e3 as AddTimer's after is 1000 nanoseconds`
	l.AddTimer(interval, func(*aeloop.Loop, int64, any) time.Duration {
		return 50 // want `untyped constant 50 as a TimeProc's delay`
	}, nil, nil)
	aeloop.Wait(fd, aeloop.Readable, 1000)                       // want `untyped constant 1000 as Wait's timeout`
	aeloop.Wait(fd, aeloop.Readable, -1)                         // no limit, in any unit
	anet.KeepAlive(fd, 300)                                      // want `untyped constant 300 as KeepAlive's interval is 300 nanoseconds, not seconds as in ae: write 300 \* time.Second`
	anet.TCPConnectTimeout("127.0.0.1:80", RECORD_INTERVAL_MS+5) // want `write \(RECORD_INTERVAL_MS \+ 5\) \* time.Millisecond`
	l.AddEvent(fd, 1, nil, nil)
	var p mux.Poller
	p.Wait(nil, 10) // want `untyped constant 10 as Wait's timeout`
	mux.WaitFd(fd, 1, time.Second)
}

func other(p *mux.Poller) {
	p.Wait(nil, -1)
}

// notAProc has TimeProc's result type but not its parameters.
func notAProc() time.Duration { return 100 }
