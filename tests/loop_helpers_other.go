//go:build unix && !linux

package tests

import (
	"os"
	"os/signal"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// loopSignalStorm sends SIGUSR1 to the process every interval until the
// returned function is called. Without tgkill the kernel picks the thread,
// so a blocking poll is interrupted only sometimes.
func loopSignalStorm(interval time.Duration) (stop func()) {
	runtime.LockOSThread()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGUSR1)
	pid := unix.Getpid()
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
				_ = unix.Kill(pid, unix.SIGUSR1)
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
