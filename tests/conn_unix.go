//go:build unix

package tests

import "github.com/aemux/mux/internal/fdtest"

// connSkips names the RunConn scenarios that cannot apply here, with why:
// none on unix.
var connSkips map[string]string

// connFdsNoisy is true where the process's fd table cannot single out the
// fds a Server leaves open; on unix it can.
const (
	connFdsNoisy    = false
	connFdsNoisyWhy = ""
)

// connWave is how many conns Scale/TenThousand opens at once at most (the
// fd limit may allow fewer).
const connWave = 10000

// connTotal is how many conns Scale/TenThousand makes in all.
const connTotal = 10000

func openFds() []int     { return fdtest.OpenFds() }
func fdOpen(fd int) bool { return fdtest.IsOpen(fd) }
