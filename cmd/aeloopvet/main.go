// Command aeloopvet runs the msdelay check: it reports untyped constants
// used as aeloop, anet and mux delays (AddTimer's delay, a TimeProc's
// result, the timeouts of Wait, WaitFd, a Poller's Wait and
// TCPConnectTimeout, KeepAlive's interval), which Go
// reads as nanoseconds where the C ae code they were ported from meant
// milliseconds (seconds for anetKeepAlive), and suggests N *
// time.Millisecond. See package github.com/aemux/mux/aeloop/msdelay.
//
// Use it through go vet, or on its own:
//
//	go install github.com/aemux/mux/cmd/aeloopvet
//	go vet -vettool=$(which aeloopvet) ./...
//	aeloopvet -fix ./...    # apply the suggested fixes
package main

import (
	"golang.org/x/tools/go/analysis/singlechecker"

	"github.com/aemux/mux/aeloop/msdelay"
)

func main() { singlechecker.Main(msdelay.Analyzer) }
