package mux

import (
	"fmt"

	"github.com/aemux/mux/event"
)

// maxHandle bounds the values a Windows handle can take: 64-bit Windows
// keeps handles to 32 significant bits so that 32-bit processes can share
// them, so anything larger (or negative) is no socket.
const maxHandle = 1<<32 - 1

// maskTable is the per-socket record table on Windows. SOCKET handles are
// kernel handle values (multiples of 4, spread over a wide range, reused at
// once after a close), not small dense numbers, so the table is keyed by
// handle and the set size bounds how many sockets it holds at once instead
// of which numbers they may have.
type maskTable struct {
	m       map[int]record
	setsize int
}

func newMaskTable(setsize int) maskTable {
	return maskTable{m: make(map[int]record), setsize: setsize}
}

// checkFd refuses a value no handle can have.
func (t *maskTable) checkFd(fd int) error {
	if fd < 0 || fd > maxHandle {
		return fmt.Errorf("%w: handle %d is not a handle value", ErrRange, fd)
	}
	return nil
}

// get returns fd's record; the zero record for a socket that is not
// registered.
func (t *maskTable) get(fd int) record { return t.m[fd] }

// put sets fd's record; a mask of None removes fd from the table.
func (t *maskTable) put(fd int, r record) {
	if r.mask == event.None {
		delete(t.m, fd)
	} else {
		t.m[fd] = r
	}
}

// admit refuses a socket that would be one more than the set size.
func (t *maskTable) admit(fd int) error {
	if len(t.m) >= t.setsize {
		return fmt.Errorf("%w: handle %d: %d sockets registered, set size %d", ErrRange, fd, len(t.m), t.setsize)
	}
	return nil
}

func (t *maskTable) size() int { return t.setsize }

// canResize refuses a set size below the number of registered sockets.
func (t *maskTable) canResize(setsize int) error {
	if len(t.m) > setsize {
		return fmt.Errorf("%w: %d sockets are registered, cannot resize to %d", ErrRange, len(t.m), setsize)
	}
	return nil
}

func (t *maskTable) resize(setsize int) { t.setsize = setsize }
