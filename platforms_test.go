package mux

import (
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The backends built here are the platform table's row for this OS, in
// its order, each with its wake-up: the build constraints of the backend
// and waker files agree with platforms.go. A row's backend that needs a
// build tag may be missing (kqueue on Linux without -tags libkqueue).
func TestPlatforms(t *testing.T) {
	row, ok := platforms[runtime.GOOS]
	require.True(t, ok, "the platform table has no row for %s", runtime.GOOS)
	var want []string
	for _, b := range row {
		info, built := registered(b.name)
		if !built {
			assert.NotEmpty(t, b.tag, "%s is in the table's %s row but not built", b.name, runtime.GOOS)
			continue
		}
		want = append(want, b.name)
		assert.Equal(t, b.wake, info.wake, "the wake-up of %s on %s", b.name, runtime.GOOS)
	}
	assert.Equal(t, want, Backends(), "Backends() is the table's row, in its order")
	for _, b := range registry {
		assert.True(t, slices.ContainsFunc(row, func(r built) bool { return r.name == b.name }),
			"%s is built on %s but not in the platform table", b.name, runtime.GOOS)
	}
}

func registered(name string) (backendInfo, bool) {
	for _, b := range registry {
		if b.name == name {
			return b, true
		}
	}
	return backendInfo{}, false
}

// docLists are the places in the docs and tests that list the backends:
// a file and a piece of text in the paragraph that holds the list (a
// paragraph ends at a blank line or a bare "//").
var docLists = []struct{ file, marker string }{
	{"README.md", "A small, fast, portable readiness loop"}, // the first paragraph
	{"README.md", "or newer"},                               // Install
	{"README.md", "| | epoll"},                              // the platform table's header
	{"doc.go", "Package mux is the portable readiness Poller"},
	{"mux.go", "// Backends returns the names"},
	{"mux.go", "// WithBackend chooses the backend"},
	{"mux.go", "// Name returns the backend's name"},
	{"aeloop/doc.go", "Package aeloop is Redis's ae event loop"},
	{"aeloop/doc.go", "ApiName is "},
	{"aeloop/loop.go", "// ApiName returns the backend's name"},
	{"tests/doc.go", "once per name in mux.Backends()"},
	{"tests/backends_test.go", "// TestPoller runs the Poller suite"},
	{"event/event.go", "Which kernel flag produces which bit"},
	{"cmd/aeserver/main.go", `"backend", "",`},
}

// Every list of backends in the docs and tests names every backend of the
// platform table, so that none (iocp, say) is forgotten where the others
// are named.
func TestDocsNameBackends(t *testing.T) {
	var names []string
	for _, row := range platforms {
		for _, b := range row {
			if !slices.Contains(names, b.name) {
				names = append(names, b.name)
			}
		}
	}
	for _, l := range docLists {
		text, err := os.ReadFile(l.file)
		require.NoError(t, err)
		para := paragraph(string(text), l.marker)
		if !assert.NotEmpty(t, para, "%s: no paragraph holds %q", l.file, l.marker) {
			continue
		}
		for _, name := range names {
			assert.Regexp(t, regexp.MustCompile(`\b`+name+`\b`), para,
				"%s: the list of backends at %q lacks %s", l.file, l.marker, name)
		}
	}
}

// The README's Install section asks for the Go version go.mod names.
func TestReadmeGoVersion(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	require.NoError(t, err)
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	require.NotNil(t, m, "go.mod has no go line")
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	assert.Contains(t, paragraph(string(readme), "or newer"), "Go "+string(m[1])+" or newer",
		"the README's Install line and go.mod disagree")
}

// paragraph returns the lines around the first one that holds marker, up
// to a blank line or a bare comment line on either side.
func paragraph(text, marker string) string {
	lines := strings.Split(text, "\n")
	at := slices.IndexFunc(lines, func(s string) bool { return strings.Contains(s, marker) })
	if at < 0 {
		return ""
	}
	blank := func(s string) bool { s = strings.TrimSpace(s); return s == "" || s == "//" }
	from, to := at, at+1
	for from > 0 && !blank(lines[from-1]) {
		from--
	}
	for to < len(lines) && !blank(lines[to]) {
		to++
	}
	return strings.Join(lines[from:to], "\n")
}
