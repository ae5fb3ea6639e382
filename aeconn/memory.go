package aeconn

import (
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Giving memory back (Config.ReleaseMemory). Go's runtime keeps the heap it
// grew for a burst and hands it back to the OS slowly (its background
// scavenger), and a server gone quiet allocates too little to start a
// collection: after a storm of clients with large buffers, a server held
// 1.2 GB for minutes that were no longer in use. So the first loop's cron
// checks, every memCheckEvery at most, whether
//
//   - the conns' buffers (Conn.Memory, summed) shrank by more than memSlack
//     since their peak after the last release: conns that held much have
//     gone, and their buffers are garbage no collection may come for;
//   - or the runtime holds (objects, garbage included, and free spans not
//     yet returned) more than twice what its last collection found live,
//     plus memSlack: memory freed by a burst that the collections during
//     it already found dead;
//
// and if so runs debug.FreeOSMemory (a collection, then every free page
// returned) on a goroutine of its own, never on a loop, one at a time. In
// steady state the heap stays under twice the live heap (GOGC=100) and
// buffers do not shrink by 64 MiB, so the check fires after bursts; it
// costs one collection per memCheckEvery at most when it does.
const (
	memCheckEvery = 2 * time.Second
	memSlack      = 64 << 20
)

// memCheck is the state of that check (Server.mem).
type memCheck struct {
	last    time.Time
	peak    int64 // the conns' buffers at their largest since the last release
	running atomic.Bool
	wg      sync.WaitGroup
	samples []metrics.Sample
	runs    atomic.Uint64 // FreeOSMemory calls (Server.Releases)
}

var memMetrics = []string{
	"/memory/classes/heap/objects:bytes", // in objects, garbage not yet collected included
	"/memory/classes/heap/free:bytes",    // free, not returned to the OS
	"/gc/heap/live:bytes",                // live at the last collection
}

// check runs from the first loop's cron, with the conns' buffers of all
// loops.
func (m *memCheck) check(now time.Time, conns int64) {
	m.peak = max(m.peak, conns)
	if now.Sub(m.last) < memCheckEvery || m.running.Load() {
		return
	}
	m.last = now
	if m.samples == nil {
		m.samples = make([]metrics.Sample, len(memMetrics))
		for i, name := range memMetrics {
			m.samples[i].Name = name
		}
	}
	metrics.Read(m.samples)
	held := m.samples[0].Value.Uint64() + m.samples[1].Value.Uint64()
	live := m.samples[2].Value.Uint64()
	if m.peak-conns <= memSlack && held <= 2*live+memSlack {
		return
	}
	m.peak = conns
	m.running.Store(true)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer m.running.Store(false)
		debug.FreeOSMemory()
		m.runs.Add(1)
	}()
}

// wait waits for a FreeOSMemory call under way (Server.Close).
func (m *memCheck) wait() { m.wg.Wait() }
