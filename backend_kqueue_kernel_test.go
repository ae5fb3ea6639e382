//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && cgo && libkqueue)

package mux

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux/event"
)

// These tests need a kqueue kernel: what backend_kqueue_logic_test.go cannot show
// on Linux.

func TestKeventTranslation(t *testing.T) {
	var k nativeKevent
	get := func() (ident uint64, filter, flags int) {
		ident, filter, flags, _, _ = keventGet(&k)
		return ident, filter, flags
	}
	toKevent(&k, &kqEvent{ident: 7, filter: kqWrite, flags: kqAdd | kqClear})
	ident, filter, flags := get()
	assert.EqualValues(t, 7, ident)
	assert.Equal(t, evfiltWrite, filter)
	assert.Equal(t, evAdd|evClear|evReceipt, flags)
	toKevent(&k, &kqEvent{ident: 3, filter: kqRead, flags: kqDelete})
	_, filter, flags = get()
	assert.Equal(t, evfiltRead, filter)
	assert.Equal(t, evDelete|evReceipt, flags)
	toKevent(&k, &kqEvent{ident: 3, filter: kqRead, flags: kqEnable | kqOneshot})
	_, _, flags = get()
	assert.Equal(t, evEnable|evOneshot|evReceipt, flags)

	keventSet(&k, 3, evfiltRead, evEOF|evError, uint32(unix.ECONNRESET))
	e := fromKevent(&k)
	e.data = 5 // keventSet leaves data 0; fromKevent copies it
	assert.Equal(t, kqEvent{ident: 3, filter: kqRead, flags: kqEOF | kqError,
		fflags: uint32(unix.ECONNRESET), data: 5}, e)
}

func kqSocketpair(t *testing.T) (a, b int) {
	t.Helper()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(sp[0]); unix.Close(sp[1]) })
	for _, fd := range sp {
		unix.CloseOnExec(fd)
		require.NoError(t, unix.SetNonblock(fd, true))
	}
	return sp[0], sp[1]
}

// EV_ONESHOT drops only the filter that fired; Oneshot mode must silence
// the whole fd until the next Add, as EPOLLONESHOT does.
func TestKqueueOneshotDisarmsWholeFd(t *testing.T) {
	p, err := Open(1024, WithBackend("kqueue"), WithMode(Oneshot))
	require.NoError(t, err)
	defer p.Close()
	a, b := kqSocketpair(t)
	require.NoError(t, p.Add(a, event.Readable|event.Writable))
	fired := make([]event.Fired, 8)
	n, err := p.Wait(fired, time.Second)
	require.NoError(t, err)
	require.Equal(t, []event.Fired{{Fd: a, Mask: event.Writable}}, fired[:n], "writable, nothing to read yet")

	_, err = unix.Write(b, []byte("x"))
	require.NoError(t, err)
	n, err = p.Wait(fired, 50*time.Millisecond)
	require.NoError(t, err)
	assert.Zero(t, n, "disarmed until the next Add: %v", fired[:n])

	require.NoError(t, p.Add(a, event.Readable)) // re-arms what is registered
	n, err = p.Wait(fired, time.Second)
	require.NoError(t, err)
	assert.Equal(t, []event.Fired{{Fd: a, Mask: event.Readable | event.Writable}}, fired[:n])
}

// A ctl call returns receipts, not pending events: in Edge mode a
// consumed edge would never be reported again.
func TestKqueueCtlDrainsNoEvent(t *testing.T) {
	p, err := Open(1024, WithBackend("kqueue"), WithMode(Edge))
	require.NoError(t, err)
	defer p.Close()
	a, b := kqSocketpair(t)
	c, _ := kqSocketpair(t)
	_, err = unix.Write(b, []byte("x"))
	require.NoError(t, err)
	require.NoError(t, p.Add(a, event.Readable))
	require.NoError(t, p.Add(c, event.Readable))
	require.NoError(t, p.Add(c, event.Writable))
	require.NoError(t, p.Del(c, event.Readable))
	fired := make([]event.Fired, 8)
	n, err := p.Wait(fired, time.Second)
	require.NoError(t, err)
	assert.Contains(t, fired[:n], event.Fired{Fd: a, Mask: event.Readable})
}

// A regular file: kqueue would take it and call it always ready.
func TestKqueueRefusesRegularFile(t *testing.T) {
	p, err := Open(1024, WithBackend("kqueue"))
	require.NoError(t, err)
	defer p.Close()
	f, err := unix.Open(t.TempDir()+"/f", unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	require.NoError(t, err)
	defer unix.Close(f)
	assert.ErrorIs(t, p.Add(f, event.Readable), ErrNotPollable)
	assert.Equal(t, event.None, p.Mask(f))
}

// With EV_RECEIPT and slots to spare in the event list, the kernels return
// the receipts alone. libkqueue goes on to scan: it returns pending events
// after the receipts, and when none is pending it returns 0, not counting
// the receipts it wrote. With exactly one slot per change, as the backend
// gives it, both return the receipts alone.
func TestKqueueReceiptsWithSpareSlots(t *testing.T) {
	kq, err := kqueueOpen()
	require.NoError(t, err)
	defer kqueueClose(kq)
	a, b := kqSocketpair(t)
	c, _ := kqSocketpair(t)
	_, err = unix.Write(b, []byte("x"))
	require.NoError(t, err)
	chg, out := make([]nativeKevent, 1), make([]nativeKevent, 4)
	keventSet(&chg[0], uint64(a), evfiltRead, evAdd, 0)
	_, err = keventCall(kq, chg, nil, nil)
	require.NoError(t, err)
	var zero kqTimespec

	keventSet(&chg[0], uint64(c), evfiltRead, evAdd|evReceipt, 0)
	n, err := keventCall(kq, chg, out, &zero)
	require.NoError(t, err)
	ident, _, flags, _, data := keventGet(&out[0])
	assert.Equal(t, []any{uint64(c), evError, int64(0)}, []any{ident, flags & evError, data}, "the receipt comes first")
	if kqLibkqueue {
		require.Equal(t, 2, n, "libkqueue: the receipt, then the pending event")
		ident, filter, flags, _, _ := keventGet(&out[1])
		assert.Equal(t, []any{uint64(a), evfiltRead, 0}, []any{ident, filter, flags & evError})
	} else {
		assert.Equal(t, 1, n, "the kernels: the receipt alone")
	}

	keventSet(&chg[0], uint64(c), evfiltRead, evDelete|evReceipt, 0)
	n, err = keventCall(kq, chg, out[:1], &zero)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "one slot per change: the receipt alone, a still pending")
	ident, _, flags, _, _ = keventGet(&out[0])
	assert.Equal(t, []any{uint64(c), evError}, []any{ident, flags & evError})

	_, err = unix.Read(a, make([]byte, 8)) // nothing pending any more
	require.NoError(t, err)
	keventSet(&chg[0], uint64(c), evfiltRead, evAdd|evReceipt, 0)
	n, err = keventCall(kq, chg, out, &zero)
	require.NoError(t, err)
	if kqLibkqueue {
		assert.Equal(t, 0, n, "libkqueue: the receipt written but not counted")
	} else {
		assert.Equal(t, 1, n)
	}
}

// An event that a change call brings back after its receipts (carry) is
// reported by the next Waits, none lost, and that Wait does not block.
func TestKqueueWaitReportsCarried(t *testing.T) {
	p, err := Open(1024, WithBackend("kqueue"))
	require.NoError(t, err)
	defer p.Close()
	a, _ := kqSocketpair(t)
	c, _ := kqSocketpair(t)
	require.NoError(t, p.Add(a, event.Readable))
	require.NoError(t, p.Add(c, event.Readable))
	b := p.be.(*kqueueBackend)
	b.carry = append(b.carry, kqEv(a, kqRead, 0, 0), kqEv(c, kqRead, kqEOF, 0))
	fired := make([]event.Fired, 1)
	start := time.Now()
	n, err := p.Wait(fired, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []event.Fired{{Fd: a, Mask: event.Readable}}, fired[:n])
	n, err = p.Wait(fired, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, []event.Fired{{Fd: c, Mask: event.Readable | event.Hangup}}, fired[:n])
	assert.Less(t, time.Since(start), 2*time.Second, "a Wait with carried events blocked")
	n, err = p.Wait(fired, 0)
	require.NoError(t, err)
	assert.Zero(t, n, "each carried event is reported once")
}
