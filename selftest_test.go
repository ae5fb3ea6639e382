//go:build unix

package mux_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/aemux/mux"
	"github.com/aemux/mux/tests"
)

// The conformance suite tested: it must fail on deliberately broken
// backends (each caught by the subtest that checks the broken promise) and
// pass on a legal-but-odd one. The broken backends live in export_test.go.

// selfTestEnv names the test backend TestSelfTestInner runs the suite on.
const selfTestEnv = "AEMUX_SELFTEST_INNER"

// openWith is RunPoller's constructor for the backend name.
func openWith(name string) tests.PollerOpener {
	return func(setsize int, opts ...mux.Option) (*mux.Poller, error) {
		return mux.Open(setsize, append([]mux.Option{mux.WithBackend(name)}, opts...)...)
	}
}

// TestSelfTestInner runs tests.RunPoller on the test backend named by
// $AEMUX_SELFTEST_INNER. It runs only as TestSelfTest's child process,
// which expects it to fail.
func TestSelfTestInner(t *testing.T) {
	name := os.Getenv(selfTestEnv)
	if name == "" {
		t.Skip("runs only in TestSelfTest's child process, with $" + selfTestEnv + " naming a test backend")
	}
	unregister, err := mux.UseTestBackend(name)
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	tests.RunPoller(t, openWith(name))
}

// TestSelfTest runs the suite on each broken backend in a child process
// (the suite's failures must not fail this test) and checks that it fails
// in the subtest that checks the broken promise.
func TestSelfTest(t *testing.T) {
	if os.Getenv(selfTestEnv) != "" {
		t.Skip("inside a self-test child process")
	}
	for _, b := range mux.BrokenBackends {
		t.Run(b.Name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSelfTestInner$/^"+b.CaughtBy+"$",
				"-test.v", "-test.count=1", "-test.timeout=60s")
			cmd.Env = append(os.Environ(), selfTestEnv+"="+b.Name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite did not fail on a backend that %s (%v):\n%s", b.What, err, out)
			}
			if !bytes.Contains(out, []byte("=== RUN   TestSelfTestInner/"+b.CaughtBy)) {
				t.Fatalf("subtest %s did not run:\n%s", b.CaughtBy, out)
			}
			if !bytes.Contains(out, []byte("--- FAIL: TestSelfTestInner/"+b.CaughtBy)) {
				t.Fatalf("the suite failed, but not in %s, on a backend that %s:\n%s", b.CaughtBy, b.What, out)
			}
			shown := 0
			for _, line := range bytes.Split(out, []byte("\n")) {
				if bytes.Contains(line, []byte(".go:")) && shown < 4 {
					t.Logf("%s: %s", b.Name, bytes.TrimSpace(line))
					shown++
				}
			}
		})
	}
}

// TestSelfTestOdd runs the whole suite on a backend that is odd in ways
// the contract allows (entries reversed, half the fired slice used, timed
// waits cut into 1 ms pieces): the suite raises no false alarm.
func TestSelfTestOdd(t *testing.T) {
	if os.Getenv(selfTestEnv) != "" {
		t.Skip("inside a self-test child process")
	}
	unregister, err := mux.UseTestBackend(mux.OddBackend)
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	tests.RunPoller(t, openWith(mux.OddBackend))
}
