package aeloop

// RequestStop makes Main return, and unlike Stop it is never lost: it is
// the stop for other goroutines (a deadline, a signal handler, a test).
// Safe from any goroutine, at any time, also before the loop goroutine
// reaches Main. The request is kept until a Main call returns because of
// it: a Main that is running returns after its current iteration (a poll
// it is blocked in is woken); a Main that starts later returns nil at once,
// before its first iteration. Each request ends one Main call: requests
// made before Main takes one count as one, and the next Main runs until the
// next request. After Close it does nothing.
//
// Stop keeps ae's rule instead: Main forgets a Stop made before it
// started, so a Stop from another goroutine that comes before the loop
// goroutine reaches Main is lost, and Main runs on. Loops driven by
// ProcessEvents rather than Main see neither.
func (l *Loop) RequestStop() {
	l.stopRequest.Store(true)
	_ = l.p.Wake() // ErrClosed only: then there is no loop to stop
}

// takeStopRequest reports whether a RequestStop is pending, and consumes
// it.
func (l *Loop) takeStopRequest() bool {
	return l.stopRequest.Load() && l.stopRequest.CompareAndSwap(true, false)
}
