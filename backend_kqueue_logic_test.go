//go:build unix

package mux

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

// These tests run the kqueue backend's pure logic on every OS; the kernel
// side is exercised by the conformance suite on macOS and the BSDs.

const (
	kqR  = event.Readable
	kqW  = event.Writable
	kqRW = kqR | kqW
)

func kqChg(fd int, f kqFilter, flags kqFlags) kqEvent {
	return kqEvent{ident: uint64(fd), filter: f, flags: flags}
}

func TestKqChanges(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mode     Mode
		old, new event.Mask
		want     []kqEvent
	}{
		{"add R", Level, 0, kqR, []kqEvent{kqChg(9, kqRead, kqAdd)}},
		{"add W", Level, 0, kqW, []kqEvent{kqChg(9, kqWrite, kqAdd)}},
		{"add kqRW in one batch", Level, 0, kqRW, []kqEvent{kqChg(9, kqRead, kqAdd), kqChg(9, kqWrite, kqAdd)}},
		// Only the write filter is added; the read filter is touched with
		// EV_ENABLE, which answers ENOENT if the fd was closed meanwhile.
		{"add W to R", Level, kqR, kqRW, []kqEvent{kqChg(9, kqRead, kqEnable), kqChg(9, kqWrite, kqAdd)}},
		{"add R to W", Level, kqW, kqRW, []kqEvent{kqChg(9, kqRead, kqAdd), kqChg(9, kqWrite, kqEnable)}},
		{"RW to W deletes only read", Level, kqRW, kqW, []kqEvent{kqChg(9, kqRead, kqDelete), kqChg(9, kqWrite, kqEnable)}},
		{"RW to R deletes only write", Level, kqRW, kqR, []kqEvent{kqChg(9, kqRead, kqEnable), kqChg(9, kqWrite, kqDelete)}},
		{"R to W", Level, kqR, kqW, []kqEvent{kqChg(9, kqRead, kqDelete), kqChg(9, kqWrite, kqAdd)}},
		{"RW to None in one batch", Level, kqRW, 0, []kqEvent{kqChg(9, kqRead, kqDelete), kqChg(9, kqWrite, kqDelete)}},
		{"R to None", Level, kqR, 0, []kqEvent{kqChg(9, kqRead, kqDelete)}},
		{"edge add kqRW", Edge, 0, kqRW, []kqEvent{kqChg(9, kqRead, kqAdd|kqClear), kqChg(9, kqWrite, kqAdd|kqClear)}},
		{"edge add W to R", Edge, kqR, kqRW, []kqEvent{kqChg(9, kqRead, kqEnable|kqClear), kqChg(9, kqWrite, kqAdd|kqClear)}},
		{"edge delete", Edge, kqRW, kqR, []kqEvent{kqChg(9, kqRead, kqEnable|kqClear), kqChg(9, kqWrite, kqDelete)}},
		{"oneshot add", Oneshot, 0, kqR, []kqEvent{kqChg(9, kqRead, kqAdd|kqOneshot)}},
		{"oneshot re-arm R", Oneshot, kqR, kqR, []kqEvent{kqChg(9, kqRead, kqAdd|kqOneshot)}},
		{"oneshot re-arm kqRW", Oneshot, kqRW, kqRW, []kqEvent{kqChg(9, kqRead, kqAdd|kqOneshot), kqChg(9, kqWrite, kqAdd|kqOneshot)}},
		{"oneshot add W to R re-arms R", Oneshot, kqR, kqRW, []kqEvent{kqChg(9, kqRead, kqAdd|kqOneshot), kqChg(9, kqWrite, kqAdd|kqOneshot)}},
		{"oneshot kqRW to R", Oneshot, kqRW, kqR, []kqEvent{kqChg(9, kqRead, kqAdd|kqOneshot), kqChg(9, kqWrite, kqDelete)}},
		{"oneshot kqRW to None", Oneshot, kqRW, 0, []kqEvent{kqChg(9, kqRead, kqDelete), kqChg(9, kqWrite, kqDelete)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf [2]kqEvent
			got := kqChanges(buf[:0], 9, tc.old, tc.new, tc.mode)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestKqChangesAllocatesNothing(t *testing.T) {
	var buf [2]kqEvent
	allocs := testing.AllocsPerRun(100, func() {
		if len(kqChanges(buf[:0], 3, kqR, kqW, Edge)) != 2 {
			t.Fatal("want 2 changes")
		}
	})
	assert.Zero(t, allocs)
}

func kqRcpt(fd int, f kqFilter, errno unix.Errno) kqEvent {
	return kqEvent{ident: uint64(fd), filter: f, flags: kqError, data: int64(errno)}
}

func TestKqReceiptErr(t *testing.T) {
	del := []kqEvent{kqChg(4, kqRead, kqDelete), kqChg(4, kqWrite, kqDelete)}
	mod := []kqEvent{kqChg(4, kqRead, kqEnable), kqChg(4, kqWrite, kqAdd)}
	add := []kqEvent{kqChg(4, kqRead, kqAdd), kqChg(4, kqWrite, kqAdd)}
	for _, tc := range []struct {
		name     string
		changes  []kqEvent
		receipts []kqEvent
		want     error // nil: success
	}{
		{"all succeeded", add, []kqEvent{kqRcpt(4, kqRead, 0), kqRcpt(4, kqWrite, 0)}, nil},
		{"no receipts", add, nil, nil},
		{"a returned event that is no receipt", add, []kqEvent{kqChg(4, kqRead, kqEOF)}, nil},
		{"delete ENOENT", del, []kqEvent{kqRcpt(4, kqRead, unix.ENOENT), kqRcpt(4, kqWrite, unix.ENOENT)}, unix.ENOENT},
		{"delete EBADF is ENOENT", del, []kqEvent{kqRcpt(4, kqRead, unix.EBADF), kqRcpt(4, kqWrite, 0)}, unix.ENOENT},
		{"enable ENOENT", mod, []kqEvent{kqRcpt(4, kqRead, unix.ENOENT), kqRcpt(4, kqWrite, 0)}, unix.ENOENT},
		{"add EBADF stays EBADF", add, []kqEvent{kqRcpt(4, kqRead, unix.EBADF), kqRcpt(4, kqWrite, unix.EBADF)}, unix.EBADF},
		{"ENOENT wins over an add error after it", mod, []kqEvent{kqRcpt(4, kqRead, unix.ENOENT), kqRcpt(4, kqWrite, unix.EPIPE)}, unix.ENOENT},
		{"ENOENT wins over an add error before it", mod, []kqEvent{kqRcpt(4, kqWrite, unix.EPIPE), kqRcpt(4, kqRead, unix.EBADF)}, unix.ENOENT},
		{"add error", add, []kqEvent{kqRcpt(4, kqRead, 0), kqRcpt(4, kqWrite, unix.EINVAL)}, unix.EINVAL},
		{"delete of another errno", del, []kqEvent{kqRcpt(4, kqRead, unix.ENOMEM)}, unix.ENOMEM},
		// libkqueue only: the other filter of a closed fd is still held.
		{"add ENOENT is the close", mod, []kqEvent{kqRcpt(4, kqRead, 0), kqRcpt(4, kqWrite, unix.ENOENT)}, unix.ENOENT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := kqReceiptErr(tc.changes, tc.receipts)
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), "kevent")
			for _, other := range []error{unix.ENOENT, unix.EBADF, unix.EPIPE, unix.EINVAL, unix.ENOMEM} {
				if other != tc.want {
					assert.NotErrorIs(t, err, other)
				}
			}
		})
	}
}

// libkqueue: a batch that adds nothing (a Del of part of the mask) deletes
// and re-adds its kept filters, mode flags kept; a batch that adds is
// left as it is.
func TestKqReAddKept(t *testing.T) {
	del := kqChanges(nil, 4, kqRW, kqR, Edge)
	assert.Equal(t, []kqEvent{kqChg(4, kqRead, kqDelete), kqChg(4, kqRead, kqAdd|kqClear), kqChg(4, kqWrite, kqDelete)},
		kqReAddKept(nil, del))
	add := kqChanges(nil, 4, kqR, kqRW, Level)
	assert.Equal(t, add, kqReAddKept(nil, add))
	oneshot := kqChanges(nil, 4, kqRW, kqR, Oneshot)
	assert.Equal(t, oneshot, kqReAddKept(nil, oneshot), "Oneshot re-adds kept filters anyway")
	assert.Empty(t, kqReAddKept(nil, nil))
}

// What a kevent call with receipts returned: receipts first, in changelist
// order; whatever follows (libkqueue, when slots are left) is an event,
// which the backend must report, never read as a receipt.
func TestKqSplitReceipts(t *testing.T) {
	chg := []kqEvent{kqChg(4, kqRead, kqEnable), kqChg(4, kqWrite, kqAdd)}
	ready := kqEv(9, kqRead, 0, 0)
	failed := kqEv(9, kqRead, kqError, 0) // EV_ERROR, but no change of this batch
	for _, tc := range []struct {
		name             string
		out              []kqEvent
		receipts, events int
		firstEventIdent  uint64
	}{
		{"receipts only", []kqEvent{kqRcpt(4, kqRead, 0), kqRcpt(4, kqWrite, 0)}, 2, 0, 0},
		{"receipts, then an event (libkqueue)", []kqEvent{kqRcpt(4, kqRead, 0), kqRcpt(4, kqWrite, unix.EPIPE), ready}, 2, 1, 9},
		{"an event where a receipt should be", []kqEvent{kqRcpt(4, kqRead, 0), ready}, 1, 1, 9},
		{"an EV_ERROR entry of another ident", []kqEvent{failed}, 0, 1, 9},
		{"the same ident and filter without EV_ERROR is an event", []kqEvent{kqEv(4, kqRead, 0, 0)}, 0, 1, 4},
		{"out of order", []kqEvent{kqRcpt(4, kqWrite, 0), kqRcpt(4, kqRead, 0)}, 0, 2, 4},
		{"nothing", nil, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, e := kqSplitReceipts(chg, tc.out)
			assert.Len(t, r, tc.receipts)
			require.Len(t, e, tc.events)
			if len(e) > 0 {
				assert.Equal(t, tc.firstEventIdent, e[0].ident)
			}
			assert.Equal(t, len(tc.out), len(r)+len(e), "every entry is one or the other")
		})
	}
}

// fakeKqueue applies changes the way the BSD kernels do with EV_RECEIPT
// (kern_event.c's kqueue_register): EBADF for a closed fd, ENOENT for a
// delete or enable of a filter it does not hold, one receipt per change.
type fakeKqueue struct {
	open  map[int]bool
	knote map[[2]int]kqFlags
}

func (k *fakeKqueue) apply(changes []kqEvent) []kqEvent {
	var out []kqEvent
	for _, c := range changes {
		key := [2]int{int(c.ident), int(c.filter)}
		var errno unix.Errno
		switch _, ok := k.knote[key]; {
		case !k.open[int(c.ident)]:
			errno = unix.EBADF
		case c.flags&kqAdd != 0:
			k.knote[key] = c.flags
		case !ok:
			errno = unix.ENOENT
		case c.flags&kqDelete != 0:
			delete(k.knote, key)
		}
		out = append(out, kqRcpt(int(c.ident), c.filter, errno))
	}
	return out
}

func (k *fakeKqueue) close(fd int) {
	k.open[fd] = false
	for key := range k.knote {
		if key[0] == fd {
			delete(k.knote, key)
		}
	}
}

// libkqueue keeps the filters of an fd closed without Del (it cannot see
// the close): an enable of the stale filter succeeds, and an add of the
// other one answers ENOENT (its epoll_ctl MOD on a file the kernel's epoll
// dropped). ctl reads that as the close; after kqForget, the add succeeds.
func TestKqForgetClearsStaleState(t *testing.T) {
	stale := map[[2]int]bool{{5, int(kqRead)}: true}
	apply := func(changes []kqEvent) []kqEvent {
		var out []kqEvent
		for _, c := range changes {
			key := [2]int{int(c.ident), int(c.filter)}
			var errno unix.Errno
			switch {
			case c.flags&kqDelete != 0 && !stale[key]:
				errno = unix.ENOENT
			case c.flags&kqDelete != 0:
				delete(stale, key)
			case c.flags&kqAdd != 0 && len(stale) > 0:
				errno = unix.ENOENT
			}
			out = append(out, kqRcpt(int(c.ident), c.filter, errno))
		}
		return out
	}
	mod := kqChanges(nil, 5, kqR, kqRW, Level)
	assert.ErrorIs(t, kqReceiptErr(mod, apply(mod)), unix.ENOENT, "the Poller then registers afresh")
	add := kqChanges(nil, 5, 0, kqW, Level)
	assert.ErrorIs(t, kqReceiptErr(add, apply(add)), unix.ENOENT, "still stale")
	forget := kqForget(nil, 5)
	assert.Equal(t, []kqEvent{kqChg(5, kqRead, kqDelete), kqChg(5, kqWrite, kqDelete)}, forget)
	apply(forget)
	assert.NoError(t, kqReceiptErr(add, apply(add)))
}

// The fd-reuse story of mux_test's TestReusedFdNumber, played against the
// fake kernel: the change list must make kqueue notice that the number now
// names a new file.
func TestKqChangesNoticeClosedFd(t *testing.T) {
	k := &fakeKqueue{open: map[int]bool{5: true}, knote: map[[2]int]kqFlags{}}
	ctl := func(old, new event.Mask) error {
		return kqReceiptErr(kqChanges(nil, 5, old, new, Level), k.apply(kqChanges(nil, 5, old, new, Level)))
	}
	require.NoError(t, ctl(0, kqR))
	k.close(5)
	k.open[5] = true // the number comes back
	err := ctl(kqR, kqRW)
	assert.ErrorIs(t, err, unix.ENOENT, "enabling the lost read filter notices the close")
	require.NoError(t, ctl(0, kqW), "the Poller registers the new interest afresh")
	assert.Equal(t, map[[2]int]kqFlags{{5, int(kqWrite)}: kqAdd}, k.knote)

	// Closed and not reused: a delete says ENOENT, so the Poller tries to
	// register afresh, and checkPollable reports EBADF.
	k.close(5)
	assert.ErrorIs(t, ctl(kqW, kqR), unix.ENOENT)
	assert.ErrorIs(t, ctl(kqRW, 0), unix.ENOENT)
}

func kqF(fd int, m event.Mask) event.Fired { return event.Fired{Fd: fd, Mask: m} }

func kqEv(fd int, f kqFilter, flags kqFlags, fflags uint32) kqEvent {
	return kqEvent{ident: uint64(fd), filter: f, flags: flags, fflags: fflags}
}

func TestKqMerge(t *testing.T) {
	eof, errf := kqEOF, kqError
	for _, tc := range []struct {
		name   string
		wakeFd int
		evs    []kqEvent
		want   []event.Fired
		woke   bool
	}{
		{"read", -1, []kqEvent{kqEv(5, kqRead, 0, 0)}, []event.Fired{kqF(5, kqR)}, false},
		{"read and write adjacent", -1,
			[]kqEvent{kqEv(5, kqRead, 0, 0), kqEv(5, kqWrite, 0, 0)},
			[]event.Fired{kqF(5, kqRW)}, false},
		{"write then read", -1,
			[]kqEvent{kqEv(0, kqWrite, 0, 0), kqEv(0, kqRead, 0, 0)},
			[]event.Fired{kqF(0, kqRW)}, false},
		{"non-adjacent, order of first report", -1,
			[]kqEvent{kqEv(5, kqRead, 0, 0), kqEv(7, kqWrite, 0, 0), kqEv(9, kqRead, 0, 0), kqEv(5, kqWrite, 0, 0), kqEv(7, kqRead, 0, 0)},
			[]event.Fired{kqF(5, kqRW), kqF(7, kqRW), kqF(9, kqR)}, false},
		{"read EOF is a hang-up", -1, []kqEvent{kqEv(5, kqRead, eof, 0)}, []event.Fired{kqF(5, kqR|event.Hangup)}, false},
		{"write EOF is a hang-up", -1, []kqEvent{kqEv(5, kqWrite, eof, 0)}, []event.Fired{kqF(5, kqW|event.Hangup)}, false},
		{"both EOF", -1, []kqEvent{kqEv(5, kqWrite, eof, 0), kqEv(5, kqRead, eof, 0)},
			[]event.Fired{kqF(5, kqRW|event.Hangup)}, false},
		{"EOF with a socket error", -1, []kqEvent{kqEv(5, kqWrite, eof, uint32(unix.ECONNREFUSED))},
			[]event.Fired{kqF(5, kqRW|event.Hangup|event.Error)}, false},
		{"EV_ERROR", -1, []kqEvent{{ident: 5, filter: kqRead, flags: errf, data: int64(unix.EBADF)}},
			[]event.Fired{kqF(5, kqRW|event.Error)}, false},
		{"user wake-up alone", -1, []kqEvent{kqEv(0, kqUser, 0, 0)}, nil, true},
		{"user wake-up among fds (ident 0 is not fd 0)", -1,
			[]kqEvent{kqEv(0, kqRead, 0, 0), kqEv(0, kqUser, 0, 0), kqEv(6, kqWrite, 0, 0)},
			[]event.Fired{kqF(0, kqR), kqF(6, kqW)}, true},
		{"pipe wake-up", 3, []kqEvent{kqEv(5, kqRead, 0, 0), kqEv(3, kqRead, 0, 0)}, []event.Fired{kqF(5, kqR)}, true},
		{"fd 3 is an fd without a wake pipe", -1, []kqEvent{kqEv(3, kqRead, 0, 0)}, []event.Fired{kqF(3, kqR)}, false},
		{"beyond the set size: merged by scan", -1,
			[]kqEvent{kqEv(100, kqRead, 0, 0), kqEv(5, kqRead, 0, 0), kqEv(100, kqWrite, 0, 0)},
			[]event.Fired{kqF(100, kqRW), kqF(5, kqR)}, false},
		{"nothing", -1, nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := kqMerger{wakeFd: tc.wakeFd}
			m.resize(16)
			fired := make([]event.Fired, 8)
			n, woke := m.merge(tc.evs, fired)
			assert.Equal(t, tc.woke, woke)
			if tc.want == nil {
				assert.Zero(t, n)
			} else {
				assert.Equal(t, tc.want, fired[:n])
			}
		})
	}
}

func TestKqMergeNeverOverflows(t *testing.T) {
	m := kqMerger{wakeFd: -1}
	m.resize(16)
	backing := make([]event.Fired, 4)
	sentinel := event.Fired{Fd: -7, Mask: event.Barrier}
	backing[2], backing[3] = sentinel, sentinel
	fired := backing[:2]
	evs := []kqEvent{kqEv(1, kqRead, 0, 0), kqEv(2, kqRead, 0, 0), kqEv(3, kqRead, 0, 0), kqEv(1, kqWrite, 0, 0), kqEv(50, kqRead, 0, 0)}
	n, _ := m.merge(evs, fired)
	assert.Equal(t, 2, n)
	assert.Equal(t, []event.Fired{kqF(1, kqRW), kqF(2, kqR)}, fired[:n])
	assert.Equal(t, sentinel, backing[2], "nothing written past len(fired)")
	assert.Equal(t, sentinel, backing[3])
}

func TestKqMergeGenerations(t *testing.T) {
	m := kqMerger{wakeFd: -1}
	m.resize(16)
	fired := make([]event.Fired, 4)
	n, _ := m.merge([]kqEvent{kqEv(1, kqRead, 0, 0), kqEv(5, kqRead, 0, 0)}, fired)
	require.Equal(t, 2, n)
	// A second Wait must not merge into the first one's positions.
	n, _ = m.merge([]kqEvent{kqEv(5, kqWrite, 0, 0)}, fired)
	assert.Equal(t, []event.Fired{kqF(5, kqW)}, fired[:n])

	// When the stamp wraps, stale slots are cleared rather than matched.
	m.slots[5] = kqSlot{gen: 1, idx: 3}
	m.gen = math.MaxUint32
	fired[3] = event.Fired{Fd: 9, Mask: kqR}
	n, _ = m.merge([]kqEvent{kqEv(5, kqWrite, 0, 0)}, fired)
	assert.Equal(t, []event.Fired{kqF(5, kqW)}, fired[:n])
	assert.Equal(t, event.Fired{Fd: 9, Mask: kqR}, fired[3])
	assert.Equal(t, uint32(1), m.gen)

	// Shrinking and growing keep it working; fds past the size fall back.
	m.resize(4)
	n, _ = m.merge([]kqEvent{kqEv(5, kqRead, 0, 0), kqEv(5, kqWrite, 0, 0)}, fired)
	assert.Equal(t, []event.Fired{kqF(5, kqRW)}, fired[:n])
	m.resize(64)
	n, _ = m.merge([]kqEvent{kqEv(40, kqRead, 0, 0), kqEv(5, kqRead, 0, 0), kqEv(40, kqWrite, 0, 0)}, fired)
	assert.Equal(t, []event.Fired{kqF(40, kqRW), kqF(5, kqR)}, fired[:n])
}

func TestKqMergeAllocatesNothing(t *testing.T) {
	const fds = 1000
	m := kqMerger{wakeFd: -1}
	m.resize(fds)
	evs := make([]kqEvent, 0, 2*fds)
	for fd := range fds {
		evs = append(evs, kqEv(fd, kqRead, 0, 0))
	}
	for fd := range fds {
		evs = append(evs, kqEv(fd, kqWrite, 0, 0))
	}
	evs = append(evs, kqEv(0, kqUser, 0, 0))
	fired := make([]event.Fired, len(evs))
	var dis [fds]kqEvent
	allocs := testing.AllocsPerRun(50, func() {
		n, woke := m.merge(evs, fired)
		if n != fds || !woke || fired[fds-1] != (event.Fired{Fd: fds - 1, Mask: kqRW}) {
			t.Fatalf("merge = %d, %v, last %v", n, woke, fired[fds-1])
		}
		if d := m.disarm(dis[:0], fired[:n]); len(d) != 0 {
			t.Fatalf("disarm = %v", d)
		}
	})
	assert.Zero(t, allocs)
}

func TestKqDisarm(t *testing.T) {
	m := kqMerger{wakeFd: -1}
	m.resize(16)
	fired := make([]event.Fired, 8)
	n, _ := m.merge([]kqEvent{kqEv(5, kqRead, 0, 0), kqEv(6, kqRead, 0, 0), kqEv(7, kqWrite, kqEOF, 0),
		kqEv(6, kqWrite, 0, 0), kqEv(99, kqRead, 0, 0), kqEv(0, kqUser, 0, 0)}, fired)
	require.Equal(t, 4, n)
	got := m.disarm(nil, fired[:n])
	assert.Equal(t, []kqEvent{kqChg(5, kqWrite, kqDelete), kqChg(7, kqRead, kqDelete)}, got,
		"the filter that did not fire, for fds in range; 6 fired both")
}

func TestKqTimeout(t *testing.T) {
	assert.Equal(t, time.Duration(0), kqTimeout(0))
	assert.Equal(t, 3100*time.Microsecond, kqTimeout(3100*time.Microsecond))
	assert.Equal(t, kqMaxTimeout, kqTimeout(math.MaxInt64))
	ts := unix.NsecToTimespec(int64(kqTimeout(math.MaxInt64)))
	assert.Less(t, int64(ts.Sec), int64(1e8), "Darwin answers EINVAL above 1e8 seconds")
}

func TestKqModeFlags(t *testing.T) {
	assert.Equal(t, kqFlags(0), kqModeFlags(Level))
	assert.Equal(t, kqClear, kqModeFlags(Edge))
	assert.Equal(t, kqOneshot, kqModeFlags(Oneshot))
}

func BenchmarkKqMerge(b *testing.B) {
	for _, fds := range []int{64, 4096} {
		m := kqMerger{wakeFd: -1}
		m.resize(fds)
		var evs []kqEvent
		for fd := range fds {
			evs = append(evs, kqEv(fd, kqRead, 0, 0), kqEv(fd, kqWrite, 0, 0))
		}
		fired := make([]event.Fired, len(evs))
		b.Run(fmt.Sprintf("%dfds", fds), func(b *testing.B) {
			for b.Loop() {
				m.merge(evs, fired)
			}
		})
	}
}
