package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux"
	"github.com/aemux/mux/anet"
)

// server starts a net/http server on loopback, on a listener made by anet
// and handed to net with NetListener, and returns its URL and the count
// of requests it answered.
func server(t *testing.T, h func(w http.ResponseWriter, n int64)) (string, *atomic.Int64) {
	t.Helper()
	fd, err := anet.TCPServer("127.0.0.1:0", anet.ListenOptions{})
	require.NoError(t, err)
	ln, err := anet.NetListener(fd)
	require.NoError(t, err)
	var served atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(w, served.Add(1))
	})}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		<-done
	})
	return "http://" + ln.Addr().String() + "/index.html", &served
}

// aewrk runs the port in the test's process and returns its summary and
// output.
func aewrk(t *testing.T, args ...string) (*summary, string) {
	t.Helper()
	var out, errs bytes.Buffer
	s, code := run(args, &out, &errs)
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", errs.String(), out.String())
	t.Logf("aewrk %s\n%s", strings.Join(args, " "), out.String())
	return s, out.String()
}

// A few hundred requests against net/http: each one got exactly one
// response, no error of any kind, and the summary says so.
func TestAgainstNetHTTP(t *testing.T) {
	url, served := server(t, func(w http.ResponseWriter, _ int64) {
		fmt.Fprint(w, "hello from net/http\n")
	})
	s, out := aewrk(t, "-t2", "-c10", "-d30s", "-r400", "--latency", url)
	assert.EqualValues(t, 400, s.complete, "responses counted")
	assert.EqualValues(t, 400, served.Load(), "requests the server answered")
	assert.Equal(t, errors{}, s.errors)
	assert.GreaterOrEqual(t, s.latency.count, uint64(400), "one latency sample per response, at least")
	assert.Contains(t, out, "  2 threads and 10 connections\n")
	assert.Contains(t, out, "  400 requests in ")
	for _, want := range []string{"Thread Stats", "    Latency ", "    Req/Sec ", "Latency Distribution", "     50%", "     99%", "Requests/sec:", "Transfer/sec:"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "Socket errors")
}

// Responses that close the connection (every other one, with a chunked
// body) make the port reconnect to the resolved address; 404s are
// counted as status errors. Still one response per request.
func TestReconnectsAndStatus(t *testing.T) {
	url, served := server(t, func(w http.ResponseWriter, n int64) {
		if n%2 == 0 {
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "closing")
			w.(http.Flusher).Flush() // chunked
			fmt.Fprint(w, " after this one")
			return
		}
		if n%5 == 0 {
			http.NotFound(w, nil)
			return
		}
		fmt.Fprint(w, "kept alive")
	})
	s, out := aewrk(t, "-t1", "-c4", "-d30s", "-r300", url)
	assert.EqualValues(t, 300, s.complete)
	assert.EqualValues(t, 300, served.Load())
	assert.Zero(t, s.errors.connect+s.errors.read+s.errors.write+s.errors.timeout, "socket errors: %+v", s.errors)
	assert.EqualValues(t, 30, s.errors.status, "the 404s: n%%5 == 0 and n odd, for n up to 300")
	assert.Contains(t, out, "  Non-2xx or 3xx responses: 30\n")
}

// A server that is not there: the resolve step's blocking connect fails,
// and the port says so as wrk does.
func TestUnreachable(t *testing.T) {
	fd, err := anet.TCPServer("127.0.0.1:0", anet.ListenOptions{})
	require.NoError(t, err)
	addr, err := anet.LocalAddr(fd)
	require.NoError(t, err)
	require.NoError(t, anet.Close(fd))
	var out, errs bytes.Buffer
	_, code := run([]string{"-t1", "-c1", "-d1s", "http://" + addr + "/"}, &out, &errs)
	assert.Equal(t, 1, code)
	assert.Contains(t, errs.String(), "unable to connect to 127.0.0.1:")
	assert.Contains(t, errs.String(), "connection refused")
}

// -v prints the backend a loop would get, $AEMUX_BACKEND included.
func TestVersion(t *testing.T) {
	for _, name := range mux.Backends() {
		t.Setenv(mux.EnvBackend, name)
		var out bytes.Buffer
		_, code := run([]string{"-v"}, &out, &out)
		assert.Equal(t, 0, code)
		assert.Contains(t, out.String(), "["+name+"]")
	}
}

// Bad options are refused with wrk's usage text.
func TestBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-t0", "http://127.0.0.1:1/"},
		{"-t4", "-c2", "http://127.0.0.1:1/"},
		{"https://127.0.0.1:1/"},
		{"-d", "3x", "http://127.0.0.1:1/"},
		{"--lock", "maybe", "http://127.0.0.1:1/"},
	} {
		var out, errs bytes.Buffer
		_, code := run(args, &out, &errs)
		assert.Equal(t, 1, code, "%q", args)
		assert.Contains(t, errs.String(), "Usage: aewrk", "%q", args)
	}
}
