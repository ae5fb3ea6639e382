package main

import (
	"math"
	"sync/atomic"
)

// stats is wrk's stats.c: a histogram with one counter per value (per
// microsecond of latency, per request/s of rate), shared by every thread
// and updated with atomics, as wrk does with __sync builtins.
type stats struct {
	count uint64
	limit uint64
	min   uint64
	max   uint64
	data  []uint64
}

func stats_alloc(max uint64) *stats {
	limit := max + 1
	return &stats{limit: limit, min: math.MaxUint64, data: make([]uint64, limit)}
}

// stats_record counts n; false if n is beyond the histogram (for latency:
// a timeout).
func stats_record(s *stats, n uint64) bool {
	if n >= s.limit {
		return false
	}
	atomic.AddUint64(&s.data[n], 1)
	atomic.AddUint64(&s.count, 1)
	for m := atomic.LoadUint64(&s.min); n < m && !atomic.CompareAndSwapUint64(&s.min, m, n); m = atomic.LoadUint64(&s.min) {
	}
	for m := atomic.LoadUint64(&s.max); n > m && !atomic.CompareAndSwapUint64(&s.max, m, n); m = atomic.LoadUint64(&s.max) {
	}
	return true
}

// stats_correct adds the samples a stalled connection would have taken
// (coordinated omission), as wrk does with the expected interval between
// requests of one connection.
func stats_correct(s *stats, expected int64) {
	if expected <= 0 {
		return
	}
	for n := uint64(expected * 2); n <= s.max && n < s.limit; n++ {
		count := s.data[n]
		m := int64(n) - expected
		for count > 0 && m > expected {
			s.data[m] += count
			s.count += count
			m -= expected
		}
	}
}

func stats_mean(s *stats) float64 {
	if s.count == 0 {
		return 0
	}
	var sum float64
	for i := s.min; i <= s.max; i++ {
		sum += float64(s.data[i]) * float64(i)
	}
	return sum / float64(s.count)
}

func stats_stdev(s *stats, mean float64) float64 {
	if s.count < 2 {
		return 0
	}
	var sum float64
	for i := s.min; i <= s.max; i++ {
		if s.data[i] != 0 {
			d := float64(i) - mean
			sum += d * d * float64(s.data[i])
		}
	}
	return math.Sqrt(sum / float64(s.count-1))
}

// stats_within_stdev is the share (percent) of samples within n standard
// deviations of the mean.
func stats_within_stdev(s *stats, mean, stdev float64, n uint64) float64 {
	if s.count == 0 {
		return 0
	}
	upper, lower := mean+stdev*float64(n), mean-stdev*float64(n)
	var sum uint64
	for i := s.min; i <= s.max; i++ {
		if float64(i) >= lower && float64(i) <= upper {
			sum += s.data[i]
		}
	}
	return float64(sum) / float64(s.count) * 100
}

func stats_percentile(s *stats, p float64) uint64 {
	rank := uint64(math.Round(p/100*float64(s.count) + 0.5))
	var total uint64
	for i := s.min; i <= s.max; i++ {
		total += s.data[i]
		if total >= rank {
			return i
		}
	}
	return 0
}
