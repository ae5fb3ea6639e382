//go:build unix

package mux_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
	"github.com/aemux/mux/internal/fdtest"
)

func pipe(tb testing.TB) (r, w int) {
	tb.Helper()
	r, w, err := fdtest.Pipe()
	require.NoError(tb, err)
	tb.Cleanup(func() { unix.Close(r); unix.Close(w) })
	return r, w
}

func eachBackend(t *testing.T, f func(t *testing.T, name string)) {
	for _, name := range mux.Backends() {
		t.Run(name, func(t *testing.T) { f(t, name) })
	}
}

func TestBackendsDefaultFirst(t *testing.T) {
	names := mux.Backends()
	require.NotEmpty(t, names)
	assert.Contains(t, names, "poll", "poll is built on every unix")
	assert.NotEqual(t, "poll", names[0], "the kernel's own multiplexer is the default")
	p, err := mux.Open(8)
	require.NoError(t, err)
	defer p.Close()
	if os.Getenv(mux.EnvBackend) == "" {
		assert.Equal(t, names[0], p.Name())
	}
}

func TestEnvBackend(t *testing.T) {
	t.Setenv(mux.EnvBackend, "poll")
	p, err := mux.Open(8)
	require.NoError(t, err)
	assert.Equal(t, "poll", p.Name())
	require.NoError(t, p.Close())

	// An explicit option wins over the environment.
	p, err = mux.Open(8, mux.WithBackend(mux.Backends()[0]))
	require.NoError(t, err)
	assert.Equal(t, mux.Backends()[0], p.Name())
	require.NoError(t, p.Close())

	t.Setenv(mux.EnvBackend, "devpoll")
	_, err = mux.Open(8)
	assert.ErrorIs(t, err, mux.ErrUnknownBackend, "an unknown name is an error, not a fallback")
}

func TestOpenBadArguments(t *testing.T) {
	_, err := mux.Open(0)
	assert.ErrorIs(t, err, mux.ErrRange)
	_, err = mux.Open(-5)
	assert.ErrorIs(t, err, mux.ErrRange)
	_, err = mux.Open(8, mux.WithMode(mux.Mode(9)))
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = mux.Open(8, mux.WithBackend("poll"), mux.WithMode(mux.Edge))
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

func TestModeString(t *testing.T) {
	assert.Equal(t, "level", mux.Level.String())
	assert.Equal(t, "edge", mux.Edge.String())
	assert.Equal(t, "oneshot", mux.Oneshot.String())
	assert.Equal(t, "Mode(7)", mux.Mode(7).String())
}

// The ADD/MOD/DEL choice of aeApiAddEvent/aeApiDelEvent, seen through Stats.
func TestRegistrationCalls(t *testing.T) {
	eachBackend(t, func(t *testing.T, name string) {
		p, err := mux.Open(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer p.Close()
		r, _ := pipe(t)
		step := func(op func(int, event.Mask) error, m event.Mask, want mux.Stats) {
			t.Helper()
			require.NoError(t, op(r, m))
			got := p.Stats()
			got.Waits, got.Fired = 0, 0
			assert.Equal(t, want, got)
		}
		step(p.Add, event.Readable, mux.Stats{Registers: 1})
		step(p.Add, event.Writable, mux.Stats{Registers: 1, Modifies: 1})
		step(p.Add, event.Writable, mux.Stats{Registers: 1, Modifies: 1}) // unchanged: no call
		// Barrier is aeloop's: the Poller refuses it and changes nothing.
		assert.ErrorIs(t, p.Add(r, event.Barrier), mux.ErrBadMask)
		assert.ErrorIs(t, p.Del(r, event.Writable|event.Barrier), mux.ErrBadMask)
		step(p.Add, event.None, mux.Stats{Registers: 1, Modifies: 1})
		assert.Equal(t, event.Readable|event.Writable, p.Mask(r))
		step(p.Del, event.Readable, mux.Stats{Registers: 1, Modifies: 2})
		step(p.Del, event.Writable, mux.Stats{Registers: 1, Modifies: 2, Deregisters: 1})
		assert.Equal(t, event.None, p.Mask(r))
		_, gen := p.Registration(r)
		assert.Zero(t, gen, "no registration, no generation")
		step(p.Del, event.Readable, mux.Stats{Registers: 1, Modifies: 2, Deregisters: 1})
		assert.Equal(t, 0, p.Len())
	})
}

// An fd closed without Del whose number comes back is registered afresh with
// only the new interest (epoll answers ENOENT to the MOD; poll saw POLLNVAL).
func TestReusedFdNumber(t *testing.T) {
	eachBackend(t, func(t *testing.T, name string) {
		p, err := mux.Open(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer p.Close()
		var fds [2]int
		fds[0], fds[1], err = fdtest.Pipe()
		require.NoError(t, err)
		require.NoError(t, p.Add(fds[0], event.Readable))
		num := fds[0]
		_, oldGen := p.Registration(num)
		assert.NotZero(t, oldGen, "a registration has a generation")
		unix.Close(fds[0])
		unix.Close(fds[1])
		fired := make([]event.Fired, 8)
		_, err = p.Wait(fired, 0) // poll learns of the close here (POLLNVAL)
		require.NoError(t, err)

		// Take the number back with a socketpair end that is writable only.
		var sp [2]int
		for {
			sp[0], sp[1], err = fdtest.Socketpair()
			require.NoError(t, err)
			if sp[0] == num || sp[1] == num {
				break
			}
			t.Fatalf("fd %d was not reused (got %v)", num, sp)
		}
		defer unix.Close(sp[0])
		defer unix.Close(sp[1])
		require.NoError(t, p.Add(num, event.Writable))
		assert.Equal(t, event.Writable, p.Mask(num), "only the new interest")
		m, gen := p.Registration(num)
		assert.Equal(t, event.Writable, m)
		assert.Greater(t, gen, oldGen, "registered afresh: a new generation")
		wantOnly(t, p, num, event.Writable, 100*time.Millisecond, "the new socket is not watched")
	})
}

// wantOnly lets p Wait once, up to d, and asserts that fd alone fired, with
// mask m; msg says what it means when nothing fired.
func wantOnly(t *testing.T, p *mux.Poller, fd int, m event.Mask, d time.Duration, msg string) {
	t.Helper()
	fired := make([]event.Fired, 8)
	n, err := p.Wait(fired, d)
	require.NoError(t, err)
	require.Equal(t, 1, n, msg)
	assert.Equal(t, event.Fired{Fd: fd, Mask: m}, fired[0])
}

// closedAndReused registers a socketpair end with m, closes the pair
// without Del, lets p Wait once (poll learns of the close there), and
// returns a new socketpair whose first end has the old number.
func closedAndReused(t *testing.T, p *mux.Poller, m event.Mask) (x, y int) {
	t.Helper()
	a, b, err := fdtest.Socketpair()
	require.NoError(t, err)
	require.NoError(t, p.Add(a, m))
	unix.Close(a) // without Del
	unix.Close(b)
	_, err = p.Wait(make([]event.Fired, 8), 0)
	require.NoError(t, err)
	x, y, err = fdtest.Socketpair()
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(x); unix.Close(y) })
	require.Equal(t, a, x, "the number was not reused")
	return x, y
}

// An fd closed without Del whose number comes back with the same interest:
// a repeated Add makes no kernel call, so it is Del, then Add (mux's
// package doc, "Rules").
func TestReusedFdNumberSameMask(t *testing.T) {
	eachBackend(t, func(t *testing.T, name string) {
		p, err := mux.Open(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer p.Close()
		x, y := closedAndReused(t, p, event.Readable)
		before := p.Stats()
		require.NoError(t, p.Add(x, event.Readable), "a repeated Add")
		assert.Equal(t, before, p.Stats(), "a repeated Add made a kernel call")
		require.NoError(t, p.Del(x, event.Readable), "Del of the closed registration")
		assert.Equal(t, event.None, p.Mask(x))
		require.NoError(t, p.Add(x, event.Readable))
		unix.Write(y, []byte("z"))
		wantOnly(t, p, x, event.Readable, time.Second, "the new socket is not watched")
	})
}

// An fd closed without Del whose number comes back, then a Del of part of
// its mask: the backend learns of the close from that Del (epoll's MOD and
// the kernels' EV_ENABLE answer ENOENT) and registers what remains for the
// new file.
func TestReusedFdNumberPartialDel(t *testing.T) {
	eachBackend(t, func(t *testing.T, name string) {
		p, err := mux.Open(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer p.Close()
		x, y := closedAndReused(t, p, event.Readable|event.Writable)
		unix.Write(y, []byte("z"))
		require.NoError(t, p.Del(x, event.Writable))
		assert.Equal(t, event.Readable, p.Mask(x))
		wantOnly(t, p, x, event.Readable, time.Second, "the new socket is not watched")
	})
}

func TestCloseWhileWaiting(t *testing.T) {
	eachBackend(t, func(t *testing.T, name string) {
		p, err := mux.Open(64, mux.WithBackend(name))
		require.NoError(t, err)
		closeDuringWait(t, p)
		assert.Equal(t, -1, p.Fd())
	})
}

func TestWaitAllocatesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, name string) {
		p, err := mux.Open(1024, mux.WithBackend(name))
		require.NoError(t, err)
		defer p.Close()
		r, w := pipe(t)
		unix.Write(w, []byte{1})
		require.NoError(t, p.Add(r, event.Readable))
		fired := make([]event.Fired, 16)
		allocs := testing.AllocsPerRun(1000, func() {
			if n, err := p.Wait(fired, time.Second); n != 1 || err != nil {
				t.Fatalf("Wait = %d, %v", n, err)
			}
		})
		assert.Zero(t, allocs)
		allocs = testing.AllocsPerRun(200, func() {
			p.Wake()
			p.Wait(fired[:1], 0)
			p.Wait(fired, 10*time.Microsecond)
		})
		assert.Zero(t, allocs, "Wake and timed Waits")
	})
}

// TestTimedWaitOvershoot logs how late a 100µs Wait returns. It asserts only
// that none returns early; the figures are for the reader.
func TestTimedWaitOvershoot(t *testing.T) {
	eachBackend(t, func(t *testing.T, name string) {
		p, err := mux.Open(64, mux.WithBackend(name))
		require.NoError(t, err)
		defer p.Close()
		for _, d := range []time.Duration{100 * time.Microsecond, 3100 * time.Microsecond} {
			runs := 200
			if d > time.Millisecond {
				runs = 20
			}
			timedWaits(t, p, d, runs)
		}
	})
}

// BenchmarkWait: one ready fd among N registered idle ones, level-triggered.
func BenchmarkWait(b *testing.B) {
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	}
	for _, name := range mux.Backends() {
		for _, idle := range []int{0, 1000, 10000} {
			// Set up once per case: the benchmark function runs several
			// times while b.N is calibrated.
			p, err := mux.Open(20000, mux.WithBackend(name))
			require.NoError(b, err)
			var open []int
			mk := func() (int, int) {
				r, w, err := fdtest.Pipe()
				require.NoError(b, err)
				open = append(open, r, w)
				return r, w
			}
			r, w := mk()
			unix.Write(w, []byte{1})
			require.NoError(b, p.Add(r, event.Readable))
			// Idle fds: pipe read ends and dups of them (their write ends
			// stay open, so none reports hang-up).
			for i := 0; i < idle; i += 2 {
				ir, _ := mk()
				d, err := unix.Dup(ir)
				require.NoError(b, err)
				open = append(open, d)
				require.NoError(b, p.Add(ir, event.Readable))
				require.NoError(b, p.Add(d, event.Readable))
			}
			b.Run(fmt.Sprintf("%s/idle=%d", name, idle), func(b *testing.B) {
				fired := make([]event.Fired, 64)
				b.ReportAllocs()
				for range b.N {
					if n, err := p.Wait(fired, time.Second); n != 1 || err != nil {
						b.Fatalf("Wait = %d, %v", n, err)
					}
				}
			})
			p.Close()
			for _, fd := range open {
				unix.Close(fd)
			}
		}
	}
}

// Millisecond timeouts round up, so a wait never ends early, and saturate.
func TestTimeoutMs(t *testing.T) {
	for d, want := range map[time.Duration]int{
		-1: -1, -time.Hour: -1, 0: 0, 1: 1, time.Microsecond: 1, time.Millisecond: 1,
		time.Millisecond + 1: 2, 3100 * time.Microsecond: 4, 1 << 62: math.MaxInt32,
	} {
		assert.Equal(t, want, mux.TimeoutMs(d), "%v", d)
	}
}
