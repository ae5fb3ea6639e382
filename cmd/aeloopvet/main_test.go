package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The command works as go vet's -vettool: it reports the demo port's two
// millisecond constants (and go vet fails), and finds nothing in
// examples/aewrk, which writes its delays as durations.
func TestGoVetVettool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs go vet: not in -short")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to run go vet: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "aeloopvet")
	if out, err := exec.Command(goCmd, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	vet := func(pkg string) (string, error) {
		cmd := exec.Command(goCmd, "vet", "-vettool="+bin, pkg)
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := vet("./aeloop/msdelay/testdata/demo")
	if err == nil {
		t.Errorf("go vet passed the demo port:\n%s", out)
	}
	for _, want := range []string{
		"demo.go:14:9: untyped constant RECORD_INTERVAL_MS as a TimeProc's delay is 100 nanoseconds",
		"demo.go:18:13: untyped constant RECORD_INTERVAL_MS as AddTimer's after is 100 nanoseconds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("go vet output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "untyped constant"); n != 2 {
		t.Errorf("%d reports, want 2 (the typed delay is fine):\n%s", n, out)
	}

	if out, err := vet("./examples/aewrk"); err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("go vet on examples/aewrk: %v\n%s", err, out)
	}
}
