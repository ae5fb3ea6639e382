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
// called from the same goroutine.
func loopSignalStorm(interval time.Duration) (stop func()) {
	runtime.LockOSThread()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGUSR1)
	pid, tid := unix.Getpid(), unix.Gettid()
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tk.C:
				_ = unix.Tgkill(pid, tid, unix.SIGUSR1)
			case <-ch:
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		signal.Stop(ch)
		runtime.UnlockOSThread()
	}
}
