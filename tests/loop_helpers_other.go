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
// returned function is called; that returns how many signals were sent.
// Without tgkill the kernel picks the thread, so a blocking poll is
// interrupted only sometimes.
func loopSignalStorm(interval time.Duration) (stop func() (sent int)) {
	runtime.LockOSThread()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGUSR1)
	pid := unix.Getpid()
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
				if unix.Kill(pid, unix.SIGUSR1) == nil {
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
