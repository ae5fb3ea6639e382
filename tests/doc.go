// Package tests is the conformance suite of aemux: exported functions that
// take a constructor and check, one named subtest per property, what every
// backend must show. RunPoller checks a mux.Poller (CONFORMANCE.md
// scenarios 1 to 29: registration and the mask table, readiness on
// socketpairs, pipes, TCP and UDP over 127.0.0.1, modes, timeouts, wake-ups,
// signals, Close, fd hygiene and allocations); RunLoop checks an
// aeloop.Loop (scenarios 30 to 45).
//
// The package's own tests run both suites once per name in mux.Backends()
// (epoll and poll on Linux, kqueue and poll on macOS and the BSDs). Code
// that wraps or configures a Poller can run the same suite on its own
// constructor from any test:
//
//	func TestMyPoller(t *testing.T) {
//		tests.RunPoller(t, func(setsize int) (*mux.Poller, error) {
//			return mux.Open(setsize, mux.WithBackend("poll"))
//		})
//	}
//
// Pick scenarios with -run, by number: go test -run 'TestPoller/poll/1[0-3]_'.
//
// # What a pass means
//
// The suite has no false positives: every failure is a broken promise of
// the API (an event lost, invented or reported twice, an error not matching
// its sentinel, a Wait that returned early, spun, leaked an fd or
// allocated). Timing checks are one-sided so that a slow or loaded machine
// does not fail it: a timed Wait must never end early, while lateness is
// only logged, or bounded loosely. It may have false negatives: a race that
// did not happen in this run, or a kernel path a test could not reach,
// passes unnoticed. Run it with -race: the Wake and Close properties are
// fully checked only under the race detector.
//
// Where a backend lacks a feature by nature (edge-triggered mode on poll),
// the suite checks that the backend says so (Caps, errors.ErrUnsupported)
// rather than skipping silently; the Hangup and Error hints are required
// only where Caps reports them. A subtest skips only when the machine
// cannot run it (too low an fd limit), and says why.
//
// Each subtest runs on fresh fds under a watchdog: after 10 s it fails and
// closes the subtest's Pollers, so that a stuck Wait returns; if the
// subtest is still running 5 s later, the watchdog panics so that the test
// binary prints every goroutine instead of hanging.
package tests
