package main

import (
	"fmt"
	"strconv"
	"strings"
)

// units is a family of units for wrk's units.c: each step up is scale
// times the one below.
type units struct {
	scale int
	base  string
	units []string
}

var (
	time_units_us = units{1000, "us", []string{"ms", "s"}}
	time_units_s  = units{60, "s", []string{"m", "h"}}
	binary_units  = units{1024, "", []string{"K", "M", "G", "T", "P"}}
	metric_units  = units{1000, "", []string{"k", "M", "G", "T", "P"}}
)

// format_units scales n to the largest unit it reaches 85% of, as wrk
// does (never to the last unit of the list, which only ends it).
func format_units(n float64, m *units, p int) string {
	amt, unit := n, m.base
	scale := float64(m.scale) * 0.85
	for i := 0; i+1 < len(m.units) && amt >= scale; i++ {
		amt /= float64(m.scale)
		unit = m.units[i]
	}
	return fmt.Sprintf("%.*f%s", p, amt, unit)
}

// scan_units reads "10", "10k", "3s", "2m" in m's units.
func scan_units(s string, m *units) (uint64, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	base, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad number %q", s)
	}
	unit := s[i:]
	if unit == "" || strings.EqualFold(unit, m.base) {
		return base, nil
	}
	scale := uint64(1)
	for _, u := range m.units {
		scale *= uint64(m.scale)
		if strings.EqualFold(unit, u) {
			return base * scale, nil
		}
	}
	return 0, fmt.Errorf("bad unit in %q", s)
}

func format_binary(n float64) string { return format_units(n, &binary_units, 2) }
func format_metric(n float64) string { return format_units(n, &metric_units, 2) }

func format_time_us(n float64) string {
	u := &time_units_us
	if n >= 1000000 {
		n /= 1000000
		u = &time_units_s
	}
	return format_units(n, u, 2)
}

func format_time_s(n float64) string { return format_units(n, &time_units_s, 0) }

func scan_metric(s string) (uint64, error) { return scan_units(s, &metric_units) }
func scan_time(s string) (uint64, error)   { return scan_units(s, &time_units_s) }
