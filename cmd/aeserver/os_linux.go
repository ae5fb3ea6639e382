package main

import "golang.org/x/sys/unix"

// lowerTimerSlack makes the kernel end this thread's timed waits on time
// rather than up to 50 µs late (the default timer slack), for serverCron
// and the clients' timeouts. Called on each loop's locked thread.
func lowerTimerSlack() { unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) }
