package msdelay_test

import (
	"testing"

	"golang.org/x/tools/go/analysis/analysistest"

	"github.com/aemux/mux/aeloop/msdelay"
)

// The fixtures flag millisecond constants passed to AddTimer, Wait,
// TCPConnectTimeout and KeepAlive or returned by TimeProcs (function
// declarations, methods and literals), stay silent on typed delays, 0 and a
// TimeProc's -1, and the golden files show the fixes applied, including
// the import of package time where the file had none.
func TestAnalyzer(t *testing.T) {
	analysistest.RunWithSuggestedFixes(t, analysistest.TestData(), msdelay.Analyzer, "port", "notime")
}
