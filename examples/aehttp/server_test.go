package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/aeconn"
)

// start runs a server on a free loopback port until the test ends.
func start(t testing.TB, loops int) string {
	srv, err := newServer(aeconn.Config{Listen: []aeconn.Listen{{Network: "tcp", Addr: "127.0.0.1:0"}}, Loops: loops,
		MaxInput: MaxHeaderBytes + MaxBody})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.NoError(t, <-done)
	})
	return srv.Addrs()[0]
}

func dial(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
	return c, bufio.NewReader(c)
}

// readResponse reads one response and its body.
func readResponse(t *testing.T, r *bufio.Reader) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(r, nil)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

// expectClosed checks that the server closed the conn after what was read.
func expectClosed(t *testing.T, r *bufio.Reader) {
	t.Helper()
	n, err := r.Read(make([]byte, 1))
	require.Zero(t, n)
	require.Error(t, err)
	var ne net.Error
	require.False(t, errorsAs(err, &ne) && ne.Timeout(), "the server did not close the conn")
}

func errorsAs(err error, ne *net.Error) bool {
	e, ok := err.(net.Error)
	if ok {
		*ne = e
	}
	return ok
}

func TestPlaintextAndJSON(t *testing.T) {
	addr := start(t, 2)
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	for _, tc := range []struct{ path, ctype, body string }{
		{"/plaintext", "text/plain", "Hello, World!"},
		{"/json", "application/json", `{"message":"Hello, World!"}`},
	} {
		for range 3 { // keep-alive: the client reuses its conn
			resp, err := client.Get("http://" + addr + tc.path)
			require.NoError(t, err)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, 200, resp.StatusCode)
			require.Equal(t, tc.body, string(body))
			require.Equal(t, tc.ctype, resp.Header.Get("Content-Type"))
			require.Equal(t, "aehttp", resp.Header.Get("Server"))
			date, err := http.ParseTime(resp.Header.Get("Date"))
			require.NoError(t, err, "Date %q", resp.Header.Get("Date"))
			require.WithinDuration(t, time.Now(), date, 3*time.Second)
			require.False(t, resp.Close, "keep-alive")
		}
	}
	resp, err := client.Get("http://" + addr + "/other")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 404, resp.StatusCode)
}

func TestPipelining(t *testing.T) {
	addr := start(t, 1)
	c, r := dial(t, addr)
	const depth = 16
	req := "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /json HTTP/1.1\r\nHost: x\r\n\r\n"
	_, err := io.WriteString(c, strings.Repeat(req, depth))
	require.NoError(t, err)
	for i := range depth {
		_, body := readResponse(t, r)
		require.Equal(t, "Hello, World!", body, "pair %d", i)
		_, body = readResponse(t, r)
		require.Equal(t, `{"message":"Hello, World!"}`, body, "pair %d", i)
	}
	// Split at every byte: the half sent first waits for the rest.
	for p := 1; p < len(req); p++ {
		io.WriteString(c, req[:p])
		time.Sleep(100 * time.Microsecond)
		io.WriteString(c, req[p:])
		_, b1 := readResponse(t, r)
		_, b2 := readResponse(t, r)
		require.Equal(t, "Hello, World!"+`{"message":"Hello, World!"}`, b1+b2, "split at %d", p)
	}
}

func TestBadRequests(t *testing.T) {
	addr := start(t, 1)
	for _, tc := range []struct{ name, req, status string }{
		{"no version", "GET /plaintext\r\n\r\n", "400"},
		{"bad version", "GET /plaintext HTTP/2.0\r\n\r\n", "400"},
		{"bare LF", "GET /plaintext HTTP/1.1\n\n", "400"},
		{"no target", "GET  HTTP/1.1\r\n\r\n", "400"},
		{"relative target", "GET plaintext HTTP/1.1\r\n\r\n", "400"},
		{"bad method", "G(T /plaintext HTTP/1.1\r\n\r\n", "400"},
		{"bad field", "GET /plaintext HTTP/1.1\r\nno colon\r\n\r\n", "400"},
		{"folded field", "GET /plaintext HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "400"},
		{"bad length", "GET /plaintext HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "400"},
		{"huge request line", "GET /" + strings.Repeat("a", MaxHeaderBytes) + " HTTP/1.1\r\n\r\n", "414"},
		{"huge request line, unfinished", "GET /" + strings.Repeat("a", MaxHeaderBytes), "414"},
		{"huge headers", "GET /plaintext HTTP/1.1\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 100)+"\r\n", 100) + "\r\n", "431"},
		{"huge headers, unfinished", "GET /plaintext HTTP/1.1\r\nX-Pad: " + strings.Repeat("p", MaxHeaderBytes+1), "431"},
		{"chunked", "POST /plaintext HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "501"},
		{"body too large", "POST /plaintext HTTP/1.1\r\nContent-Length: 9999999\r\n\r\n", "413"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, r := dial(t, addr)
			// A good request first: the bad one ends a kept-alive conn.
			_, err := io.WriteString(c, "GET /plaintext HTTP/1.1\r\n\r\n"+tc.req)
			require.NoError(t, err)
			resp, _ := readResponse(t, r)
			require.Equal(t, 200, resp.StatusCode)
			resp, _ = readResponse(t, r)
			require.Equal(t, tc.status, strings.Fields(resp.Status)[0])
			require.True(t, resp.Close, "Connection: close")
			expectClosed(t, r)
		})
	}
}

func TestConnectionClose(t *testing.T) {
	addr := start(t, 1)
	for _, req := range []string{
		"GET /plaintext HTTP/1.1\r\nConnection: close\r\n\r\nGET /plaintext HTTP/1.1\r\n\r\n",
		"GET /plaintext HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n",
		"GET /plaintext HTTP/1.0\r\n\r\n",
	} {
		c, r := dial(t, addr)
		io.WriteString(c, req)
		resp, body := readResponse(t, r)
		require.Equal(t, "Hello, World!", body)
		require.True(t, resp.Close)
		expectClosed(t, r)
	}
	// HTTP/1.0 with keep-alive stays open; a body is skipped.
	c, r := dial(t, addr)
	io.WriteString(c, "POST /x HTTP/1.0\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhelloGET /plaintext HTTP/1.1\r\n\r\n")
	resp, _ := readResponse(t, r)
	require.Equal(t, 404, resp.StatusCode)
	require.False(t, resp.Close)
	_, body := readResponse(t, r)
	require.Equal(t, "Hello, World!", body)
}

func TestDateRefreshed(t *testing.T) {
	addr := start(t, 1)
	c, r := dial(t, addr)
	get := func() string {
		io.WriteString(c, "GET /plaintext HTTP/1.1\r\n\r\n")
		resp, _ := readResponse(t, r)
		return resp.Header.Get("Date")
	}
	first := get()
	time.Sleep(2100 * time.Millisecond)
	later := get()
	require.NotEqual(t, first, later, "the Date header did not move in 2.1 s")
	d1, _ := http.ParseTime(first)
	d2, err := http.ParseTime(later)
	require.NoError(t, err)
	require.True(t, d2.After(d1))
}

// BenchmarkPlaintext: pipelined plaintext requests over one conn, 16 per
// round trip. allocs/op counts the whole process: server and client.
func BenchmarkPlaintext(b *testing.B) {
	addr := start(b, 1)
	c, r := dial(b, addr)
	const depth = 16
	req := []byte(strings.Repeat("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n", depth))
	// One response's size, measured once.
	c.Write(req[:len(req)/depth])
	line, _ := r.ReadString('\n')
	size := len(line)
	for {
		l, _ := r.ReadString('\n')
		size += len(l)
		if l == "\r\n" {
			break
		}
	}
	size += len("Hello, World!")
	r.Discard(len("Hello, World!"))
	buf := make([]byte, depth*size)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += depth {
		c.Write(req)
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
	}
}
