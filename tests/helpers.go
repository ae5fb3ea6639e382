package tests

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/aemux/mux/aeloop"
	"github.com/aemux/mux/event"
)

// minus returns the members of a that are not in b (both sorted).
func minus(a, b []int) []int {
	var out []int
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// errorCount is how many errors err carries: the length of a go-multierror
// list, 1 for any other error, 0 for nil.
func errorCount(err error) int {
	var merr *multierror.Error
	switch {
	case err == nil:
		return 0
	case errors.As(err, &merr):
		return len(merr.Errors)
	}
	return 1
}

// percentiles returns the median, the 99th percentile and the maximum of
// d (sorted in place).
func percentiles(d []time.Duration) (median, p99, worst time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[(len(d)*99)/100], d[len(d)-1]
}

// goroutineID returns the id of the calling goroutine, from its stack
// header ("goroutine 18 [running]:"). Tests only.
func goroutineID() int64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return -1
	}
	return id
}

// nopHandler is a file handler that does nothing.
func nopHandler(*aeloop.Loop, int, any, event.Mask) {}

// nopTimer is a timer that runs once.
func nopTimer(*aeloop.Loop, int64, any) time.Duration { return aeloop.NoMore }
