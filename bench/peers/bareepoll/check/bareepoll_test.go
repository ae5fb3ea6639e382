package check

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"peers/respcheck"
)

// build compiles bareepoll.c into a temporary directory with the given extra
// flags (warnings are errors). Without cc it skips, except under CI.
func build(t *testing.T, name string, flags ...string) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("bareepoll is Linux-only (epoll, signalfd)")
	}
	cc, err := exec.LookPath("cc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no C compiler (cc) on PATH: %v", err)
		}
		t.Skipf("no C compiler (cc) on PATH, cannot build bareepoll.c: %v", err)
	}
	bin := filepath.Join(t.TempDir(), name)
	args := append([]string{"-std=gnu11", "-Wall", "-Wextra", "-Werror", "-O2"}, flags...)
	args = append(args, "-o", bin, filepath.Join("..", "bareepoll.c"))
	out, err := exec.Command(cc, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// checks runs every check of package respcheck against bin with args,
// whose first line on stderr must say it runs in mode (edge or level).
func checks(t *testing.T, bin, mode string, args ...string) {
	respcheck.Run(t, respcheck.Server{
		Command: append([]string{bin, "-addr", "{ADDR}"}, args...),
		Banner:  regexp.MustCompile(`listening on \S+ \(` + mode + `-triggered\)`),
	})
}

// TestBareepoll runs every check against both epoll modes, and again against
// a build with AddressSanitizer and LeakSanitizer, which make the server fail
// its exit on SIGTERM if it leaked or touched memory it does not own.
func TestBareepoll(t *testing.T) {
	plain := build(t, "bareepoll")
	t.Run("edge", func(t *testing.T) { checks(t, plain, "edge") })
	t.Run("level", func(t *testing.T) { checks(t, plain, "level", "-level") })
	t.Run("sanitizers", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: no AddressSanitizer build")
		}
		asan := build(t, "bareepoll-asan", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all")
		t.Run("edge", func(t *testing.T) { checks(t, asan, "edge") })
		t.Run("level", func(t *testing.T) { checks(t, asan, "level", "-level") })
	})
}
