//go:build linux

package tests

import (
	"os"
	"os/signal"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// loopSignalStorm locks the calling goroutine to its thread and sends
// SIGUSR1 to that very thread every interval (tgkill), so that a blocking
// poll in it is interrupted with EINTR, until the returned function is
// called from the same goroutine; that returns how many signals were sent.
func loopSignalStorm(interval time.Duration) (stop func() (sent int)) {
	runtime.LockOSThread()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGUSR1)
	pid, tid := unix.Getpid(), unix.Gettid()
	quit, done := make(chan struct{}), make(chan struct{})
	n := 0
	go func() {
		defer close(done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				if unix.Tgkill(pid, tid, unix.SIGUSR1) == nil {
					n++
				}
			case <-ch:
			}
		}
	}()
	return func() int {
		close(quit)
		<-done
		signal.Stop(ch)
		runtime.UnlockOSThread()
		return n
	}
}
