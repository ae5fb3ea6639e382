// Package mux is the portable readiness Poller under aemux: one small API over
// the best multiplexer the kernel has (epoll on Linux, kqueue on macOS and the
// BSDs, iocp, AFD poll over an I/O completion port, on Windows) and over
// poll(2) on every unix, with a per-fd record of the registered interest: the
// Readable and Writable part of the mask Redis's ae keeps in events[fd].mask.
// Package aeloop, the ae-style loop with handlers and timers, is built on it.
//
//	p, err := mux.Open(1024) // the platform's default backend, or $AEMUX_BACKEND
//	if err != nil {
//		return err
//	}
//	defer p.Close()
//	if err := p.Add(fd, event.Readable); err != nil { // fd: a non-blocking socket
//		return err
//	}
//	fired := make([]event.Fired, 128)
//	n, err := p.Wait(fired, -1) // blocks; Wake or Close from any goroutine ends it
//	for _, f := range fired[:n] {
//		handle(f.Fd, f.Mask) // Readable|Writable, plus the Hangup and Error hints
//	}
//
// Add merges bits into an fd's interest, Del removes them, Wait reports what
// is ready. Every call is checked before the kernel sees it: a negative fd, an
// fd at or above the set size, an unknown mask bit or a closed Poller comes
// back as ErrRange, ErrBadMask or ErrClosed (errors.Is matches them), and the
// record is left unchanged. Kernel failures are wrapped with the name of the
// system call, so errors.Is(err, unix.EBADF) works.
//
// Open picks the first of Backends() unless WithBackend or $AEMUX_BACKEND
// names another one built here; an unknown name is ErrUnknownBackend, never a
// silent fallback. Caps reports what the backend does, so portable code asks
// the Poller instead of checking runtime.GOOS. The module's README has the
// platform table; package event says which kernel flag gives which bit.
//
// # Rules
//
//   - Regular files and directories are ErrNotPollable on every backend. On
//     Windows only sockets are: Add takes the SOCKET handle as an int, and the
//     set size bounds how many sockets are registered, not their values.
//   - Wait returns at most one Fired per fd, Readable and Writable merged. An
//     error or hang-up is reported as the registered bits plus the Hangup or
//     Error hint, so that the next read or write surfaces it.
//   - Del an fd before closing it. The kernel drops a closed fd, but the
//     record keeps its mask: when the number comes back, an Add that brings a
//     bit the record lacks registers the new file afresh with that Add's bits,
//     while an Add of bits it has makes no kernel call and leaves the new file
//     unwatched (ae has the same trap, redis#8991). A Del of all of a closed
//     fd's bits always succeeds and clears the record. On epoll a registered
//     fd that was dup'ed stays watched under the old number after a close;
//     Windows hands a closed handle's number out again at once.
//   - A timed Wait never returns before its timeout has passed, unless an fd
//     is ready or Wake was called; EINTR is retried with the time left.
//   - One goroutine drives a Poller. Only Wake and Close may be called from
//     others while Wait runs; Close makes a Wait in progress return ErrClosed,
//     and the kernel fds are released by whichever of the two finishes last.
//
// How each platform's kernel (or libkqueue, or Wine) differs, and what the
// backend does about it, is written beside the backend, with its tests.
package mux
