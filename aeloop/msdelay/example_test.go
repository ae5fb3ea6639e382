package msdelay_test

import (
	"fmt"
	"log"
	"path/filepath"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"

	"github.com/aemux/mux/aeloop/msdelay"
)

// Run the check on a package, as go vet -vettool=$(which aeloopvet) does:
// testdata/demo ports an ae timer line by line, and two of its three
// delays are ae's milliseconds read as nanoseconds.
func Example() {
	cfg := &packages.Config{Mode: packages.LoadSyntax}
	pkgs, err := packages.Load(cfg, "./testdata/demo")
	if err != nil {
		log.Fatal(err)
	}
	graph, err := checker.Analyze([]*analysis.Analyzer{msdelay.Analyzer}, pkgs, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, act := range graph.Roots {
		for _, d := range act.Diagnostics {
			pos := act.Package.Fset.Position(d.Pos)
			fmt.Printf("%s:%d: %s\n", filepath.Base(pos.Filename), pos.Line, d.Message)
			fmt.Printf("  fix: %s\n", d.SuggestedFixes[0].TextEdits[0].NewText)
		}
	}
	// Output:
	// demo.go:14: untyped constant RECORD_INTERVAL_MS as a TimeProc's delay is 100 nanoseconds, not milliseconds as in ae: write RECORD_INTERVAL_MS * time.Millisecond
	//   fix: RECORD_INTERVAL_MS * time.Millisecond
	// demo.go:18: untyped constant RECORD_INTERVAL_MS as AddTimer's after is 100 nanoseconds, not milliseconds as in ae: write RECORD_INTERVAL_MS * time.Millisecond
	//   fix: RECORD_INTERVAL_MS * time.Millisecond
}
