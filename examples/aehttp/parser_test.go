package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in     string
		tail   int // bytes after the request; -1: incomplete
		err    error
		target string
		close  bool
	}{
		{"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\n", 0, nil, "/plaintext", false},
		{"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r\nGET", 3, nil, "/plaintext", false},
		{"GET /plaintext HTTP/1.1\r\nHost: a\r\n\r", -1, nil, "", false},
		{"GET /plaintext HTTP/1.1\r\nconnection:  CLOSE \r\n\r\n", 0, nil, "/plaintext", true},
		{"GET /plaintext HTTP/1.1\r\nConnection:\t keep-alive ,\tclose\t\r\n\r\n", 0, nil, "/plaintext", true},
		{"GET /plaintext HTTP/1.1\r\nConnection: xclose, closex\r\n\r\n", 0, nil, "/plaintext", false},
		{"PUT /a HTTP/1.1\r\nContent-Length:\t 3 \t\r\n\r\nabc", 0, nil, "/a", false},
		{"GET * HTTP/1.0\r\n\r\n", 0, nil, "*", true},
		{"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, nil, "/", false},
		{"PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nab", -1, nil, "", false},
		{"PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 0, nil, "/a", false},
		{"GET /a HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 0, ErrBadRequest, "", false},
		{"GET /a HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 0, ErrBadRequest, "", false},
		{"GET /a HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n", 0, ErrBodyTooLarge, "", false},
		{"GET /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0, ErrNotImplemented, "", false},
		{"GET /a\x00 HTTP/1.1\r\n\r\n", 0, ErrBadRequest, "", false},
		{" GET /a HTTP/1.1\r\n\r\n", 0, ErrBadRequest, "", false},
		{"\r\n", 0, ErrBadRequest, "", false},
	} {
		var r Request
		n, err := Parse([]byte(tc.in), &r)
		require.ErrorIs(t, err, tc.err, "%q", tc.in)
		want := 0
		if tc.err == nil && tc.tail >= 0 {
			want = len(tc.in) - tc.tail
		}
		require.Equal(t, want, n, "%q", tc.in)
		if n > 0 {
			require.Equal(t, tc.target, string(r.Target), "%q", tc.in)
			require.Equal(t, tc.close, r.Close, "%q", tc.in)
		}
	}
}

// A request's head is incomplete at every byte before its end, and each
// prefix is either incomplete or the same request.
func TestParsePrefixes(t *testing.T) {
	req := "GET /json HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n"
	for i := range len(req) {
		var r Request
		n, err := Parse([]byte(req[:i]), &r)
		require.NoError(t, err, "prefix %d", i)
		require.Zero(t, n, "prefix %d", i)
	}
}
