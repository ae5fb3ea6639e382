// Package demo is a line-by-line port of an ae timer, for the package's
// Example: two delays written as ae wrote them, one written right.
package demo

import (
	"time"

	"github.com/aemux/mux/aeloop"
)

const RECORD_INTERVAL_MS = 100

func recordRate(l *aeloop.Loop, id int64, data any) time.Duration {
	return RECORD_INTERVAL_MS
}

func Start(l *aeloop.Loop) {
	l.AddTimer(RECORD_INTERVAL_MS, recordRate, nil, nil)
	l.AddTimer(RECORD_INTERVAL_MS*time.Millisecond, recordRate, nil, nil)
}
