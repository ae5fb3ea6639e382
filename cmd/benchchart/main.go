// Command benchchart draws the results of bench/run.sh as an SVG bar chart.
//
// Usage:
//
//	go run ./cmd/benchchart -in medians.csv -out chart.svg [-metric cpu|rps|syscalls]
//
// It reads the medians.csv that bench/run.sh writes next to results.csv
// (bench/aggregate.awk's mode=medians: per metric, config, test and server,
// the median over the rounds and the median of the per-round ratios to the
// baseline), and, if present, the memory.csv next to it. It computes no
// statistics itself: aggregate.awk is the one source of every median and
// ratio the tables, the summary and the charts show. To chart a run against
// another baseline, `BASE=NAME bench/run.sh --report DIR` writes
// DIR/medians.csv again.
//
// The chart has one panel per config (p1, p16, c1000), each with its own y
// scale; in a panel, one group of bars per test and one bar per server. A
// bar is the median over the rounds of the chosen metric:
//
//   - cpu (the default): server CPU time per request in µs (user+sys).
//     Lower is better; on a 2-core machine this is the figure that separates
//     servers.
//   - rps: requests per second as redis-benchmark reports them. Higher is
//     better, but with one client core it mostly measures the client.
//   - syscalls: system calls the server made per request, counted by perf.
//     Lower is better.
//
// Above each bar is the paired ratio to the baseline server: the ratio is
// taken inside each round (same round, same config and test) and the median
// over rounds is shown, which cancels the machine's drift between rounds. The
// legend gives each server's peak RSS when memory.csv is there. The output
// depends only on the input files, so the same input always gives the same
// bytes.
//
// bench/run.sh runs it at the end of a run to write chart-cpu.svg,
// chart-rps.svg and chart-syscalls.svg; to show a run in the top-level
// README, copy its chart:
//
//	cp /tmp/aemux-bench/run-DATE/chart-cpu.svg bench/results.svg
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "benchchart:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchchart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	in := fs.String("in", "medians.csv", "medians.csv written by bench/run.sh (bench/aggregate.awk mode=medians)")
	out := fs.String("out", "chart.svg", "SVG file to write")
	metric := fs.String("metric", "cpu", "what the bars show: cpu (server CPU µs per request), rps (requests/s) or syscalls (server system calls per request)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: benchchart -in medians.csv -out chart.svg [-metric cpu|rps|syscalls]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	m, ok := metrics[*metric]
	if !ok {
		return fmt.Errorf("-metric %q: want cpu, rps or syscalls", *metric)
	}

	f, err := os.Open(*in)
	if err != nil {
		return err
	}
	d, err := readMedians(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", *in, err)
	}
	if len(d.figs[m.name]) == 0 {
		return fmt.Errorf("%s: no %s figures (system calls come from a run where perf could count them)", *in, m.name)
	}
	mem, err := readMemory(filepath.Join(filepath.Dir(*in), "memory.csv"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render(&buf, d, mem, m); err != nil {
		return err
	}
	return os.WriteFile(*out, buf.Bytes(), 0o644)
}

// metric is what the bars of a chart show.
type metric struct {
	name   string // column in the data: "cpu", "rps" or "syscalls"
	title  string
	axis   string
	better string
}

var metrics = map[string]metric{
	"cpu": {"cpu", "Server CPU time per request, µs", "server CPU, µs/request", "Lower is better"},
	"rps": {"rps", "Requests per second", "requests/s", "Higher is better, but one client core limits it"},
	"syscalls": {"syscalls", "Server system calls per request", "system calls/request",
		"Lower is better"},
}

// key names one bar: a server in one test of one config.
type key struct{ config, test, server string }

// figure is one row of medians.csv.
type figure struct {
	median float64
	rounds int
	ratio  float64 // NaN when there are no pairs
	pairs  int
}

// dataset is medians.csv: per metric, per bar, its figure.
type dataset struct {
	configs, tests, servers []string       // in order of first appearance
	base                    string         // the baseline of every ratio
	requests                map[string]int // per config
	rounds                  int            // the most rounds of any bar
	figs                    map[string]map[key]figure
}

// medianCols are medians.csv's columns, as aggregate.awk writes them.
var medianCols = []string{"metric", "config", "test", "server", "base", "median", "rounds", "ratio", "pairs", "requests"}

// readMedians parses medians.csv.
func readMedians(r io.Reader) (*dataset, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the header: %w", err)
	}
	if !slices.Equal(head, medianCols) {
		return nil, fmt.Errorf("header %q, want %q (bench/aggregate.awk mode=medians)", strings.Join(head, ","), strings.Join(medianCols, ","))
	}
	d := &dataset{requests: map[string]int{}, figs: map[string]map[key]figure{}}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if _, ok := metrics[rec[0]]; !ok {
			return nil, fmt.Errorf("line %d: unknown metric %q", line, rec[0])
		}
		k := key{rec[1], rec[2], rec[3]}
		if k.config == "" || k.test == "" || k.server == "" || rec[4] == "" {
			return nil, fmt.Errorf("line %d: empty config, test, server or base", line)
		}
		if d.base == "" {
			d.base = rec[4]
		} else if rec[4] != d.base {
			return nil, fmt.Errorf("line %d: baseline %q after %q", line, rec[4], d.base)
		}
		med, okMed := number(rec[5])
		rounds, errRounds := strconv.Atoi(rec[6])
		pairs, errPairs := strconv.Atoi(rec[8])
		if !okMed || errRounds != nil || errPairs != nil || rounds < 1 || pairs < 0 {
			return nil, fmt.Errorf("line %d: median %q, rounds %q, pairs %q: want a number and counts", line, rec[5], rec[6], rec[8])
		}
		ratio, okRatio := number(rec[7])
		if okRatio != (pairs > 0) {
			return nil, fmt.Errorf("line %d: ratio %q with %d pairs", line, rec[7], pairs)
		}
		if !okRatio {
			ratio = math.NaN()
		}
		f := figure{median: med, rounds: rounds, ratio: ratio, pairs: pairs}
		if n, err := strconv.Atoi(rec[9]); err == nil && n > 0 {
			d.requests[k.config] = n
		}
		d.configs = appendNew(d.configs, k.config)
		d.tests = appendNew(d.tests, k.test)
		d.servers = appendNew(d.servers, k.server)
		d.rounds = max(d.rounds, f.rounds)
		if d.figs[rec[0]] == nil {
			d.figs[rec[0]] = map[key]figure{}
		}
		d.figs[rec[0]][k] = f
	}
	if len(d.servers) == 0 {
		return nil, errors.New("no figures")
	}
	return d, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// number parses a CSV cell; "", "NA" and anything not a finite number are absent.
func number(s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// readMemory reads memory.csv (server,process,vmrss_start_kb,vmhwm_end_kb,...)
// into peak RSS in MiB per server. A missing file is no error.
func readMemory(path string) (map[string]float64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) == 0 {
		return nil, nil
	}
	server, hwm := slices.Index(recs[0], "server"), slices.Index(recs[0], "vmhwm_end_kb")
	if server < 0 || hwm < 0 {
		return nil, fmt.Errorf("%s: no server or vmhwm_end_kb column", path)
	}
	mem := map[string]float64{}
	for _, rec := range recs[1:] {
		if len(rec) <= max(server, hwm) {
			continue
		}
		if kb, ok := number(rec[hwm]); ok {
			mem[rec[server]] = kb / 1024
		}
	}
	return mem, nil
}

// The redis-benchmark arguments of bench/run.sh's configs, for panel titles.
var configArgs = map[string]string{
	"p1":    "-c 50 -P 1",
	"p16":   "-c 50 -P 16",
	"c1000": "-c 1000 -P 1",
}

// palette: Tableau 10; the baseline gets the first colour.
var palette = []string{"#4e79a7", "#e15759", "#f28e2b", "#59a14f", "#76b7b2",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

// Layout, in SVG user units (pixels).
const (
	marginL    = 78  // room for the y axis labels
	marginR    = 20  //
	barW       = 30  // one bar
	barGap     = 4   // between the bars of a group
	groupGap   = 30  // between groups
	panelH     = 230 // one config: title, plot, test labels
	plotTop    = 34  // from the panel's top to the plot area
	plotH      = 150 // plot area height
	minWidth   = 760
	legendRowH = 20
)

// svgWriter accumulates SVG text; the first write error sticks.
type svgWriter struct {
	w   io.Writer
	err error
}

func (s *svgWriter) f(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

// esc escapes text for XML character data and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // writes to a Builder: cannot fail
	return b.String()
}

// num formats a coordinate.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// render writes the chart of metric m for every config, test and server of d.
func render(w io.Writer, d *dataset, mem map[string]float64, m metric) error {
	base := d.base
	ns, nt := len(d.servers), len(d.tests)
	groupW := float64(ns*(barW+barGap)-barGap) + groupGap
	width := max(float64(minWidth), marginL+float64(nt)*groupW+marginR)
	plotW := width - marginL - marginR
	groupW = plotW / float64(nt) // spread the groups over the width

	// Legend items, wrapped into rows.
	type item struct {
		x, y  float64
		color string
		text  string
	}
	var legend []item
	x, y := float64(marginL), 0.0
	for i, s := range d.servers {
		text := s
		if s == base {
			text += " (baseline)"
		}
		if mb, ok := mem[s]; ok {
			text += fmt.Sprintf(", peak RSS %.1f MiB", mb)
		}
		itemW := 22 + 6.6*float64(len([]rune(text))) + 18
		if x+itemW > width-marginR && x > marginL {
			x, y = marginL, y+legendRowH
		}
		legend = append(legend, item{x, y, palette[i%len(palette)], text})
		x += itemW
	}
	legendTop := 84.0
	panelsTop := legendTop + y + legendRowH + 12
	height := panelsTop + float64(len(d.configs))*panelH + 10

	rounds := d.rounds
	s := &svgWriter{w: w}
	s.f(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" role="img">`+"\n",
		num(width), num(height), num(width), num(height))
	title := fmt.Sprintf("%s: %s", m.title, strings.Join(d.configs, ", "))
	s.f("<title>%s</title>\n", esc(title))
	s.f(`<rect width="100%%" height="100%%" fill="#ffffff"/>` + "\n")
	s.f(`<text x="%s" y="26" font-size="17" font-weight="bold" fill="#222">%s</text>`+"\n", num(marginL), esc(title))
	s.f(`<text x="%s" y="48" font-size="12" fill="#444">%s</text>`+"\n", num(marginL),
		esc(fmt.Sprintf("Bar: median of %d round(s). Label: ratio to %s within each round, median of rounds.", rounds, base)))
	s.f(`<text x="%s" y="66" font-size="12" fill="#444">%s</text>`+"\n", num(marginL),
		esc(m.better+". One panel per config, each with its own scale."))
	s.f(`<g class="legend">` + "\n")
	for _, it := range legend {
		s.f(`<rect class="swatch" x="%s" y="%s" width="14" height="14" fill="%s"/>`+"\n", num(it.x), num(legendTop+it.y), it.color)
		s.f(`<text x="%s" y="%s" font-size="12" fill="#222">%s</text>`+"\n", num(it.x+20), num(legendTop+it.y+11.5), esc(it.text))
	}
	s.f("</g>\n")

	for ci, cfg := range d.configs {
		top := panelsTop + float64(ci)*panelH
		renderPanel(s, d, m, base, cfg, top, plotW, groupW)
	}
	s.f("</svg>\n")
	return s.err
}

// configDesc gives a config's redis-benchmark arguments as far as known,
// e.g. "-c 50 -P 1 -n 150000" for p1; "" for an unknown config.
func configDesc(d *dataset, c string) string {
	desc := configArgs[c]
	if n := d.requests[c]; n > 0 {
		desc = strings.TrimSpace(desc + " -n " + strconv.Itoa(n))
	}
	return desc
}

// renderPanel draws one config's axes and bars with its own y scale.
func renderPanel(s *svgWriter, d *dataset, m metric, base, cfg string, top, plotW, groupW float64) {
	y0 := top + plotTop + plotH // the x axis
	// The scale: the largest median, with room for the ratio labels above.
	maxV := 0.0
	for _, t := range d.tests {
		for _, srv := range d.servers {
			if f, ok := d.figs[m.name][key{cfg, t, srv}]; ok {
				maxV = max(maxV, f.median)
			}
		}
	}
	step, top10 := niceScale(maxV * 1.12)
	scale := plotH / top10

	s.f(`<g class="panel" data-config="%s">`+"\n", esc(cfg))
	head := cfg
	if desc := configDesc(d, cfg); desc != "" {
		head += ": redis-benchmark " + desc
	}
	s.f(`<text x="%s" y="%s" font-size="14" font-weight="bold" fill="#222">%s</text>`+"\n", num(marginL), num(top+18), esc(head))
	// Grid and y tick labels.
	for i := 0; float64(i)*step <= top10+step/2; i++ {
		v := float64(i) * step
		y := y0 - v*scale
		s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e4e4e4"/>`+"\n", num(marginL), num(y), num(marginL+plotW), num(y))
		s.f(`<text x="%s" y="%s" font-size="11" fill="#444" text-anchor="end">%s</text>`+"\n", num(marginL-6), num(y+4), esc(tickLabel(v, step)))
	}
	yMid := top + plotTop + plotH/2
	s.f(`<text x="16" y="%s" font-size="11" fill="#444" text-anchor="middle" transform="rotate(-90 16 %s)">%s</text>`+"\n",
		num(yMid), num(yMid), esc(m.axis))
	s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#888"/>`+"\n", num(marginL), num(top+plotTop), num(marginL), num(y0))

	ns := len(d.servers)
	barsW := float64(ns*(barW+barGap) - barGap)
	for ti, t := range d.tests {
		gx := marginL + float64(ti)*groupW + (groupW-barsW)/2
		for si, srv := range d.servers {
			k := key{cfg, t, srv}
			bx := gx + float64(si*(barW+barGap))
			cx := bx + barW/2
			f, ok := d.figs[m.name][k]
			v, n := f.median, f.rounds
			if !ok {
				s.f(`<text x="%s" y="%s" font-size="10" fill="#888" text-anchor="middle">n/a</text>`+"\n", num(cx), num(y0-4))
				continue
			}
			label := "–"
			if f.pairs > 0 {
				label = strconv.FormatFloat(f.ratio, 'f', 2, 64)
			}
			h := v * scale
			s.f(`<rect class="bar" data-config="%s" data-test="%s" data-server="%s" data-value="%s" data-ratio="%s" data-rounds="%d" x="%s" y="%s" width="%d" height="%s" fill="%s">`,
				esc(cfg), esc(t), esc(srv), strconv.FormatFloat(v, 'g', 6, 64), label, n,
				num(bx), num(y0-h), barW, num(h), palette[si%len(palette)])
			s.f("<title>%s</title></rect>\n", esc(fmt.Sprintf("%s %s %s: %s %s (median of %d), ratio to %s %s",
				cfg, strings.ToUpper(t), srv, valueText(m, v), unit(m), n, base, label)))
			s.f(`<text x="%s" y="%s" font-size="10" fill="#222" text-anchor="middle">%s</text>`+"\n", num(cx), num(y0-h-4), label)
		}
		s.f(`<text x="%s" y="%s" font-size="11" fill="#222" text-anchor="middle">%s</text>`+"\n",
			num(gx+barsW/2), num(y0+16), esc(strings.ToUpper(t)))
	}
	s.f(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#888"/>`+"\n", num(marginL), num(y0), num(marginL+plotW), num(y0))
	s.f("</g>\n")
}

func valueText(m metric, v float64) string {
	switch m.name {
	case "rps":
		return strconv.FormatFloat(v, 'f', 0, 64)
	case "syscalls":
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func unit(m metric) string {
	switch m.name {
	case "rps":
		return "requests/s"
	case "syscalls":
		return "system calls/request"
	}
	return "µs/request"
}

// niceScale picks a tick step of 1, 2 or 5 times a power of ten giving about
// five ticks up to at least maxV, and the top of the axis (a whole number of
// steps).
func niceScale(maxV float64) (step, top float64) {
	if maxV <= 0 || math.IsNaN(maxV) {
		return 1, 1
	}
	raw := maxV / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f <= 1:
		step = p
	case f <= 2:
		step = 2 * p
	case f <= 5:
		step = 5 * p
	default:
		step = 10 * p
	}
	return step, math.Ceil(maxV/step-1e-9) * step
}

// tickLabel formats an axis value with as many decimals as the step needs,
// thousands as "k", millions as "M" (from steps of 100k on).
func tickLabel(v, step float64) string {
	if v == 0 {
		return "0"
	}
	if step >= 1e5 {
		return strconv.FormatFloat(v/1e6, 'f', decimals(step/1e6), 64) + "M"
	}
	if step >= 1000 {
		return strconv.FormatFloat(v/1000, 'f', decimals(step/1000), 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', decimals(step), 64)
}

func decimals(step float64) int {
	if step >= 1 {
		return 0
	}
	return int(math.Ceil(-math.Log10(step) - 1e-9))
}
