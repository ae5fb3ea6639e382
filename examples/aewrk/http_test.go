package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// parse feeds responses to a fresh parser in pieces of size step and
// returns the status codes of the complete responses and whether all input
// was taken.
func parse(input string, step int) (codes []int, keep []bool, ok bool) {
	var p parser
	p.on_message_complete = func(p *parser) {
		codes = append(codes, p.status)
		keep = append(keep, http_should_keep_alive(p))
	}
	http_parser_init(&p)
	for i := 0; i < len(input); i += step {
		chunk := []byte(input[i:min(i+step, len(input))])
		if http_parser_execute(&p, chunk) != len(chunk) {
			return codes, keep, false
		}
	}
	return codes, keep, http_body_is_final(&p) || p.state == sStatus
}

// Content-Length, chunked and connection-delimited bodies, interim
// responses and keep-alive rules, in one piece and byte by byte.
func TestParser(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		codes    []int
		keep     []bool
		ok       bool
	}{
		{"length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n", []int{200, 404}, []bool{true, true}, true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nTrailer: 1\r\n\r\n", []int{200}, []bool{true}, true},
		{"close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", []int{200}, []bool{false}, false},
		{"http/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", []int{200}, []bool{false}, false},
		{"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", []int{200}, []bool{true}, true},
		{"until close", "HTTP/1.1 200 OK\r\n\r\nbody until EOF", []int{200}, []bool{false}, true},
		{"interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", []int{204}, []bool{true}, true},
		{"garbage", "HTTP/1.1 2xx OK\r\n\r\n", nil, nil, false},
		{"no colon", "HTTP/1.1 200 OK\r\nbroken\r\n\r\n", nil, nil, false},
		{"bad chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", nil, nil, false},
		{"after close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nX", []int{200}, []bool{false}, false},
	} {
		for _, step := range []int{len(tc.in), 1} {
			codes, keep, ok := parse(tc.in, step)
			assert.Equal(t, tc.codes, codes, "%s, step %d", tc.name, step)
			assert.Equal(t, tc.keep, keep, "%s, step %d", tc.name, step)
			assert.Equal(t, tc.ok, ok, "%s, step %d", tc.name, step)
		}
	}
}

// The units read and written as wrk's units.c does.
func TestUnits(t *testing.T) {
	assert.Equal(t, "800.00us", format_time_us(800))
	assert.Equal(t, "0.85ms", format_time_us(850)) // 85% of the next unit up
	assert.Equal(t, "1.50ms", format_time_us(1500))
	assert.Equal(t, "2.00s", format_time_us(2000000))
	assert.Equal(t, "15.45k", format_metric(15450))
	assert.Equal(t, "5.45MB", format_binary(5.45*1024*1024)+"B")
	assert.Equal(t, "3s", format_time_s(3))
	for in, want := range map[string]uint64{"3": 3, "3s": 3, "2m": 120, "1h": 3600} {
		got, err := scan_time(in)
		assert.NoError(t, err)
		assert.Equal(t, want, got, in)
	}
	n, err := scan_metric("2k")
	assert.NoError(t, err)
	assert.EqualValues(t, 2000, n)
	_, err = scan_metric("2q")
	assert.Error(t, err)
}
