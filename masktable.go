//go:build !windows

package mux

import (
	"fmt"

	"github.com/aemux/mux/event"
)

// maskTable is the per-fd record table on Unix: a slice indexed by fd, as
// Redis's ae keeps events[fd], whose length is the set size. Every method
// is small enough to be inlined, so Wait's lookup is one bounds check and
// one load, with no map and no allocation.
type maskTable struct{ m []record }

func newMaskTable(setsize int) maskTable { return maskTable{make([]record, setsize)} }

// checkFd refuses an fd that cannot index the table.
func (t *maskTable) checkFd(fd int) error {
	if uint(fd) >= uint(len(t.m)) {
		return t.rangeErr(fd)
	}
	return nil
}

func (t *maskTable) rangeErr(fd int) error {
	return fmt.Errorf("%w: fd %d, set size %d", ErrRange, fd, len(t.m))
}

// get returns fd's record; the zero record for an fd that is not
// registered or out of range.
func (t *maskTable) get(fd int) record {
	if uint(fd) < uint(len(t.m)) {
		return t.m[fd]
	}
	return record{}
}

// put sets fd's record; fd has passed checkFd.
func (t *maskTable) put(fd int, r record) { t.m[fd] = r }

// admit is asked before fd enters the table. On Unix every fd that passed
// checkFd has its slot already.
func (t *maskTable) admit(int) error { return nil }

func (t *maskTable) size() int { return len(t.m) }

// canResize refuses a set size that would leave a registered fd outside.
func (t *maskTable) canResize(setsize int) error {
	for fd := setsize; fd < len(t.m); fd++ {
		if t.m[fd].mask != event.None {
			return fmt.Errorf("%w: fd %d is registered, cannot resize to %d", ErrRange, fd, setsize)
		}
	}
	return nil
}

// resize changes the set size; canResize has agreed.
func (t *maskTable) resize(setsize int) {
	m := make([]record, setsize)
	copy(m, t.m)
	t.m = m
}
