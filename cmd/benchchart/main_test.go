package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const sampleCSV = "../../bench/testdata/sample-results.csv"

// bar is one <rect class="bar"> of a chart.
type bar struct {
	config, test, server, value, ratio, fill string
}

// parseChart checks that svg is well-formed XML with an <svg> root and
// returns its bars and all its character data.
func parseChart(t *testing.T, svg []byte) ([]bar, string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var bars []bar
	var text strings.Builder
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			a := map[string]string{}
			for _, at := range tok.Attr {
				a[at.Name.Local] = at.Value
			}
			if tok.Name.Local == "rect" && a["class"] == "bar" {
				bars = append(bars, bar{a["data-config"], a["data-test"], a["data-server"], a["data-value"], a["data-ratio"], a["fill"]})
			}
		case xml.CharData:
			text.Write(tok)
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return bars, text.String()
}

// runFiles is one bench/run.sh run for the tests: its results.csv and the
// servers, configs, tests and baseline run.sh would pass to aggregate.awk.
type runFiles struct {
	results                 string // results.csv's text, or a file name with the prefix "file:"
	servers, configs, tests string
	base                    string
}

// aggregate runs bench/aggregate.awk in mode on r's results, as run.sh does.
func aggregate(t *testing.T, r runFiles, mode string) string {
	t.Helper()
	awk, err := exec.LookPath("awk")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no awk: bench/aggregate.awk, the source of the chart's figures, cannot run")
		}
		t.Skip("no awk on this machine: bench/aggregate.awk computes the chart's figures")
	}
	in, ok := strings.CutPrefix(r.results, "file:")
	if !ok {
		in = filepath.Join(t.TempDir(), "results.csv")
		if err := os.WriteFile(in, []byte(r.results), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := r.base
	if base == "" {
		base, _, _ = strings.Cut(r.servers, " ")
	}
	out, err := exec.Command(awk, "-v", "mode="+mode, "-v", "servers="+r.servers, "-v", "base="+base,
		"-v", "configs="+r.configs, "-v", "tests="+r.tests, "-v", "clk=100",
		"-f", "../../bench/aggregate.awk", in).CombinedOutput()
	if err != nil {
		t.Fatalf("aggregate.awk: %v\n%s", err, out)
	}
	return string(out)
}

// mediansFile writes r's medians.csv (and memory, if not "", as the
// memory.csv beside it) into a new directory and returns its path.
func mediansFile(t *testing.T, r runFiles, memory string) string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "medians.csv")
	if err := os.WriteFile(in, []byte(aggregate(t, r, "medians")), 0o644); err != nil {
		t.Fatal(err)
	}
	if memory != "" {
		mem, err := os.ReadFile(memory)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "memory.csv"), mem, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return in
}

func renderFile(t *testing.T, in, metricName string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "chart.svg")
	var stderr bytes.Buffer
	if err := run([]string{"-in", in, "-out", out, "-metric", metricName}, &stderr); err != nil {
		t.Fatalf("run: %v (%s)", err, stderr.String())
	}
	svg, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return svg
}

// sample is the sample run (bench/run.sh's results from measurements
// made before aemux existed: 5 rounds, 4 servers).
var sample = runFiles{results: "file:" + sampleCSV, servers: "redis stdlibping netpollping gnetping",
	configs: "p1 p16 c1000", tests: "ping_inline ping_mbulk set get"}

// TestSample renders the sample run with both of its metrics.
func TestSample(t *testing.T) {
	in := mediansFile(t, sample, "../../bench/testdata/memory.csv")
	for _, m := range []string{"cpu", "rps"} {
		t.Run(m, func(t *testing.T) {
			svg := renderFile(t, in, m)
			bars, text := parseChart(t, svg)
			configs := []string{"p1", "p16", "c1000"}
			tests := []string{"ping_inline", "ping_mbulk", "set", "get"}
			servers := []string{"redis", "stdlibping", "netpollping", "gnetping"}
			if want := len(configs) * len(tests) * len(servers); len(bars) != want {
				t.Errorf("%d bars, want %d", len(bars), want)
			}
			seen := map[key]int{}
			for _, b := range bars {
				seen[key{b.config, b.test, b.server}]++
			}
			for _, c := range configs {
				for _, tt := range tests {
					for _, s := range servers {
						if n := seen[key{c, tt, s}]; n != 1 {
							t.Errorf("%s %s %s: %d bars, want 1", c, tt, s, n)
						}
					}
				}
			}
			for _, want := range []string{"p1, p16, c1000", "redis (baseline), peak RSS 27.2 MiB",
				"gnetping, peak RSS 17.0 MiB", "p16: redis-benchmark -c 50 -P 16 -n 2000000", "PING_MBULK"} {
				if !strings.Contains(text, want) {
					t.Errorf("chart text lacks %q", want)
				}
			}
			again := renderFile(t, in, m)
			if !bytes.Equal(svg, again) {
				t.Error("two renderings of the same CSV differ")
			}
		})
	}
}

// TestSampleFigures checks bars of the sample's charts against figures
// worked out from its results.csv by hand (medians over 5 rounds, and
// medians of the 5 per-round ratios to redis).
func TestSampleFigures(t *testing.T) {
	d := readFile(t, mediansFile(t, sample, ""))
	for _, c := range []struct {
		metric       string
		k            key
		median, pair float64
	}{
		{"cpu", key{"p1", "ping_inline", "stdlibping"}, 17.13, 1.34},
		{"cpu", key{"p16", "set", "gnetping"}, 0.91, 0.80},
		{"cpu", key{"c1000", "get", "netpollping"}, 15.20, 1.11},
		{"cpu", key{"p1", "get", "redis"}, 13.73, 1},
		{"rps", key{"p1", "ping_inline", "stdlibping"}, 51831, 1.06},
		{"rps", key{"p16", "get", "netpollping"}, 780031, 0.98},
	} {
		f, ok := d.figs[c.metric][c.k]
		if !ok || f.rounds != 5 || f.pairs != 5 {
			t.Errorf("%s %v: %+v, want 5 rounds and 5 pairs", c.metric, c.k, f)
		}
		if math.Abs(f.median-c.median) > 0.006*max(1, c.median/100) {
			t.Errorf("%s %v: median %v, want %v", c.metric, c.k, f.median, c.median)
		}
		if math.Abs(f.ratio-c.pair) > 0.005 {
			t.Errorf("%s %v: paired ratio %v, want %v", c.metric, c.k, f.ratio, c.pair)
		}
	}
}

func readFile(t *testing.T, path string) *dataset {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := readMedians(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tiny is a hand-made run: 3 rounds, 2 servers, one config and test, plus a
// failed measurement (NA) that must not count. With 10,000 requests and
// 100 ticks/s, 1 tick is 1 µs per request.
const tiny = `round,config,test,server,rps,p50_ms,cpu_ticks,requests,wall_ms,listen_overflows,server_core_ticks,client_core_ticks
1,p1,get,redis,1000,0.5,100,10000,1,0,1,1
1,p1,get,ae,1100,0.5,110,10000,1,0,1,1
2,p1,get,redis,2000,0.5,120,10000,1,0,1,1
2,p1,get,ae,1800,0.5,150,10000,1,0,1,1
3,p1,get,redis,1500,0.5,110,10000,1,0,1,1
3,p1,get,ae,1650,0.5,99,10000,1,0,1,1
1,p16,get,redis,4000,0.5,10,10000,1,0,1,1
1,p16,get,ae,NA,NA,NA,10000,NA,NA,NA,NA
2,p16,get,redis,5000,0.5,30,10000,1,0,1,1
2,p16,get,ae,6000,0.5,27,10000,1,0,1,1
`

var tinyRun = runFiles{results: tiny, servers: "redis ae", configs: "p1 p16", tests: "get"}

func TestTinyMediansAndRatios(t *testing.T) {
	in := mediansFile(t, tinyRun, "")
	d := readFile(t, in)
	const eps = 1e-9
	for _, c := range []struct {
		metric       string
		k            key
		median       float64
		n            int
		pair         float64
		np           int
		baselinePair bool
	}{
		// ae's CPU µs/request: 110, 150, 99 against redis 100, 120, 110.
		// The median ratio (1.10, 1.25, 0.90 -> 1.10) is not the ratio of
		// medians (110/110 = 1).
		{metric: "cpu", k: key{"p1", "get", "redis"}, median: 110, n: 3, pair: 1, np: 3},
		{metric: "cpu", k: key{"p1", "get", "ae"}, median: 110, n: 3, pair: 1.1, np: 3},
		// rps 1100, 1800, 1650 against 1000, 2000, 1500: ratios 1.1, 0.9, 1.1.
		{metric: "rps", k: key{"p1", "get", "ae"}, median: 1650, n: 3, pair: 1.1, np: 3},
		{metric: "rps", k: key{"p1", "get", "redis"}, median: 1500, n: 3, pair: 1, np: 3},
		// p16: redis has 2 rounds (even count: mean of the middle two), ae
		// failed in round 1, so one pair only.
		{metric: "cpu", k: key{"p16", "get", "redis"}, median: 20, n: 2, pair: 1, np: 2},
		{metric: "cpu", k: key{"p16", "get", "ae"}, median: 27, n: 1, pair: 0.9, np: 1},
		{metric: "rps", k: key{"p16", "get", "redis"}, median: 4500, n: 2, pair: 1, np: 2},
		{metric: "rps", k: key{"p16", "get", "ae"}, median: 6000, n: 1, pair: 1.2, np: 1},
	} {
		f := d.figs[c.metric][c.k]
		if f.rounds != c.n || math.Abs(f.median-c.median) > eps {
			t.Errorf("%s %v: median %v of %d, want %v of %d", c.metric, c.k, f.median, f.rounds, c.median, c.n)
		}
		if f.pairs != c.np || math.Abs(f.ratio-c.pair) > eps {
			t.Errorf("%s %v: paired ratio %v of %d, want %v of %d", c.metric, c.k, f.ratio, f.pairs, c.pair, c.np)
		}
	}

	// The same numbers in the chart: the bar's value and its ratio label.
	bars, text := parseChart(t, renderFile(t, in, "cpu"))
	got := map[key]bar{}
	for _, b := range bars {
		got[key{b.config, b.test, b.server}] = b
	}
	if len(bars) != 4 {
		t.Errorf("%d bars, want 4", len(bars))
	}
	for k, want := range map[key][2]string{
		{"p1", "get", "redis"}:  {"110", "1.00"},
		{"p1", "get", "ae"}:     {"110", "1.10"},
		{"p16", "get", "redis"}: {"20", "1.00"},
		{"p16", "get", "ae"}:    {"27", "0.90"},
	} {
		if b := got[k]; b.value != want[0] || b.ratio != want[1] {
			t.Errorf("%v: bar value %q ratio %q, want %q %q", k, b.value, b.ratio, want[0], want[1])
		}
	}
	if got[key{"p1", "get", "redis"}].fill == got[key{"p1", "get", "ae"}].fill {
		t.Error("two servers share a colour")
	}
	if strings.Contains(text, "peak RSS") {
		t.Error("legend shows peak RSS without a memory.csv")
	}
	if !strings.Contains(text, "Bar: median of 3 round(s)") {
		t.Error("subtitle does not give the number of rounds")
	}

	// The rps chart against another baseline.
	other := tinyRun
	other.base = "ae"
	bars, text = parseChart(t, renderFile(t, mediansFile(t, other, ""), "rps"))
	if !strings.Contains(text, "ae (baseline)") {
		t.Error("legend does not name ae the baseline")
	}
	for _, b := range bars {
		if b.config == "p1" && b.server == "redis" && (b.value != "1500" || b.ratio != "0.91") {
			t.Errorf("redis against ae, p1 rps: value %q ratio %q, want 1500 0.91", b.value, b.ratio)
		}
	}
}

// TestRatiosTable checks aggregate.awk's ratios mode, the table of CPU per
// request that bench/results.md and the README show: per config and test the
// median of the per-round paired ratios to the baseline (not the ratio of the
// medians), NA for a server without measurements.
func TestRatiosTable(t *testing.T) {
	r := tinyRun
	r.servers = "redis ae gone"
	got := aggregate(t, r, "ratios")
	want := "| config, test | ae | gone |\n" +
		"|---|---:|---:|\n" +
		"| p1 GET | 1.10 | NA |\n" +
		"| p16 GET | 0.90 | NA |\n"
	if got != want {
		t.Errorf("ratios table:\n%s\nwant:\n%s", got, want)
	}
}

func TestErrors(t *testing.T) {
	in := mediansFile(t, tinyRun, "")
	dir := filepath.Dir(in)
	out := filepath.Join(dir, "x.svg")
	for _, args := range [][]string{
		{"-in", in, "-out", out, "-metric", "p99"},
		{"-in", in, "-out", out, "-metric", "syscalls"}, // tiny has no system call counts
		{"-in", filepath.Join(dir, "missing.csv"), "-out", out},
		{"-in", in, "-out", out, "extra"},
		{"-in", in, "-out", out, "-base", "ae"}, // the baseline is aggregate.awk's to choose
	} {
		if err := run(args, io.Discard); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
	const head = "metric,config,test,server,base,median,rounds,ratio,pairs,requests\n"
	for _, csv := range []string{
		"",
		"round,config,test,server,rps,cpu_ticks,requests\n1,p1,get,redis,1,1,1\n", // a results.csv
		head,
		head + "cpu,p1,get,ae,redis,1.5\n",
		head + "p99,p1,get,ae,redis,1.5,3,1.1,3,100\n",
		head + "cpu,p1,get,ae,redis,x,3,1.1,3,100\n",
		head + "cpu,p1,get,ae,redis,1.5,0,1.1,3,100\n",
		head + "cpu,p1,get,ae,redis,1.5,3,NA,3,100\n",
		head + "cpu,p1,get,ae,redis,1.5,3,1.1,0,100\n",
		head + "cpu,p1,get,,redis,1.5,3,1.1,3,100\n",
		head + "cpu,p1,get,ae,redis,1.5,3,1.1,3,100\ncpu,p1,get,redis,ae,1,3,1,3,100\n",
	} {
		if _, err := readMedians(strings.NewReader(csv)); err == nil {
			t.Errorf("readMedians(%q): no error", csv)
		}
	}
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ max, step, top float64 }{
		{19.4, 5, 20},
		{1.28, 0.5, 1.5},
		{900000, 200000, 1000000},
		{0, 1, 1},
	} {
		step, top := niceScale(c.max)
		if math.Abs(step-c.step) > 1e-9 || math.Abs(top-c.top) > 1e-9 {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.max, step, top, c.step, c.top)
		}
	}
	for _, c := range []struct {
		v, step float64
		want    string
	}{{0, 0.5, "0"}, {1.5, 0.5, "1.5"}, {400000, 200000, "0.4M"}, {1500000, 500000, "1.5M"}, {60000, 20000, "60k"}, {15, 5, "15"}} {
		if got := tickLabel(c.v, c.step); got != c.want {
			t.Errorf("tickLabel(%v, %v) = %q, want %q", c.v, c.step, got, c.want)
		}
	}
}

// tinySteal is tiny's p1 rows in run.sh's current format, with the steal
// of each kept measurement and its number of tries (one was measured
// twice), and the server's sleeps.
const tinySteal = `round,config,test,server,rps,p50_ms,cpu_ticks,requests,wall_ms,listen_overflows,server_core_ticks,client_core_ticks,steal_ticks,tries,server_sleeps
1,p1,get,redis,1000,0.5,100,10000,1,0,1,1,0,1,10
1,p1,get,ae,1100,0.5,110,10000,1,0,1,1,3,2,50
2,p1,get,redis,2000,0.5,120,10000,1,0,1,1,0,1,10
2,p1,get,ae,1800,0.5,150,10000,1,0,1,1,7,1,70
3,p1,get,redis,1500,0.5,110,10000,1,0,1,1,0,1,20
3,p1,get,ae,1650,0.5,99,10000,1,0,1,1,0,1,60
`

// The steal and sleeps columns: aggregate.awk reads the file as before
// (medians for the chart), counts the repeated measurements in the summary,
// takes its ratios to the BASE server and tables the sleeps.
func TestStealColumns(t *testing.T) {
	r := runFiles{results: tinySteal, servers: "redis ae", configs: "p1", tests: "get"}
	if f := readFile(t, mediansFile(t, r, "")).figs["cpu"][key{"p1", "get", "ae"}]; f.pairs != 3 || math.Abs(f.ratio-1.1) > 1e-9 {
		t.Errorf("paired cpu ratio %v of %d, want 1.1 of 3", f.ratio, f.pairs)
	}
	s := aggregate(t, r, "summary")
	for _, want := range []string{
		"Steal: 1 of 6 measurements were repeated",
		"lost 10 ticks in all, at most 7 in one",
		"110.00 (1.10)", // ae's CPU µs/request and its paired ratio to redis
		"System calls per request: not counted",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	// Against ae: redis's per-round ratios 100/110, 120/150, 110/99.
	r.base = "ae"
	if s := aggregate(t, r, "summary"); !strings.Contains(s, "110.00 (0.91)") {
		t.Errorf("summary with base ae lacks redis at 0.91:\n%s", s)
	}
	// Sleeps per 1,000 requests: ae 5, 7, 6 against redis 1, 1, 2; the
	// per-round ratios 5, 7, 3 have the median 5.
	r.base = "redis"
	tables := aggregate(t, r, "tables")
	if !strings.Contains(tables, "Server sleeps per 1,000 requests") ||
		!strings.Contains(tables, "| 1.0 | 6.0 (5.00, 3.00–7.00) |") {
		t.Errorf("tables lack the sleeps row (redis 1.0, ae 6.0, ratio 5 of 3–7):\n%s", tables)
	}
}

// tinySyscalls is tinySteal with the system call columns: per 10,000
// requests, redis makes 25,000, 24,000, 26,000 calls and ae 23,000, 26,400,
// 23,400 (ratios 0.92, 1.10, 0.90).
const tinySyscalls = `round,config,test,server,rps,p50_ms,cpu_ticks,requests,wall_ms,listen_overflows,server_core_ticks,client_core_ticks,steal_ticks,tries,server_sleeps,sc_total,sc_read,sc_write,sc_wait,sc_other
1,p1,get,redis,1000,0.5,100,10000,1,0,1,1,0,1,10,25000,10000,10000,4900,100
1,p1,get,ae,1100,0.5,110,10000,1,0,1,1,3,2,50,23000,10000,10000,2000,1000
2,p1,get,redis,2000,0.5,120,10000,1,0,1,1,0,1,10,24000,10000,10000,3900,100
2,p1,get,ae,1800,0.5,150,10000,1,0,1,1,7,1,70,26400,10000,10000,5400,1000
3,p1,get,redis,1500,0.5,110,10000,1,0,1,1,0,1,20,26000,10000,10000,5900,100
3,p1,get,ae,1650,0.5,99,10000,1,0,1,1,0,1,60,23400,10000,10000,2400,1000
`

// The system call columns: per request in the summary, the tables (total
// with paired ratios, and by kind) and the syscalls chart.
func TestSyscallColumns(t *testing.T) {
	r := runFiles{results: tinySyscalls, servers: "redis ae", configs: "p1", tests: "get"}
	if s := aggregate(t, r, "summary"); !strings.Contains(s, "Server system calls per request") ||
		!strings.Contains(s, "2.500") || !strings.Contains(s, "2.340 (0.92)") {
		t.Errorf("summary lacks redis at 2.500 and ae at 2.340 (0.92):\n%s", s)
	}
	tables := aggregate(t, r, "tables")
	for _, want := range []string{
		"| 2.500 | 2.340 (0.92, 0.90–1.10) |",
		"| 1.000 / 1.000 / 0.490 / 0.010 | 1.000 / 1.000 / 0.240 / 0.100 |",
	} {
		if !strings.Contains(tables, want) {
			t.Errorf("tables lack %q:\n%s", want, tables)
		}
	}
	bars, text := parseChart(t, renderFile(t, mediansFile(t, r, ""), "syscalls"))
	if len(bars) != 2 || !strings.Contains(text, "Server system calls per request") {
		t.Fatalf("%d bars, title in %q", len(bars), text)
	}
	for _, b := range bars {
		if b.server == "ae" && (b.value != "2.34" || b.ratio != "0.92") {
			t.Errorf("ae's bar: value %q ratio %q, want 2.34 0.92", b.value, b.ratio)
		}
	}
}
