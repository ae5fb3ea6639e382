package tests

import "github.com/aemux/mux/internal/fdtest"

// connSkips names the RunConn scenarios that cannot apply on Windows.
var connSkips map[string]string

// connFdsNoisy: the Go runtime opens handles of its own at any moment (one
// per new thread), so the handle table before and after a Server cannot
// single out the Server's (RunPoller's Lifetime/CloexecNoLeak skips for the
// same reason).
const (
	connFdsNoisy    = true
	connFdsNoisyWhy = "the runtime opens handles of its own at any moment, so comparing the handle table before and after cannot single out the Server's"
)

// connWave is how many conns Scale/TenThousand opens at once at most: Wine
// keeps a Linux fd per socket in its one wineserver process, so 20,000
// sockets at once would pass the CI machine's fd limit.
const connWave = 1000

// connTotal is how many conns Scale/TenThousand makes in all on Windows:
// under Wine each connect and accept is several round trips to wineserver,
// and 10,000 took more than the subtest's minute on the CI machine.
const connTotal = 2000

func openFds() []int     { return fdtest.OpenFds() }
func fdOpen(fd int) bool { return fdtest.IsOpen(fd) }
