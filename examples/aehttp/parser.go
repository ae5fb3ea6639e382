package main

import (
	"bytes"
	"errors"
	"strings"
)

// The HTTP/1.1 request parser of aehttp: enough of RFC 9112 for
// TechEmpower's plaintext and json tests, strict about what it accepts.
// It reads one request at the start of a buffer, without copying: the
// Request's slices point into it.

// MaxHeaderBytes bounds a request's head (request line and header fields,
// with their line ends): a longer one is answered 431, or 414 when the
// request line alone does not fit.
const MaxHeaderBytes = 8 << 10

// MaxBody bounds a request's Content-Length: a larger one is answered 413.
const MaxBody = 1 << 20

// Errors of Parse, each answered with its status and a close.
var (
	ErrBadRequest      = errors.New("aehttp: malformed request")               // 400
	ErrURITooLong      = errors.New("aehttp: request line too long")           // 414
	ErrHeadersTooLarge = errors.New("aehttp: request header fields too large") // 431
	ErrBodyTooLarge    = errors.New("aehttp: request body too large")          // 413
	ErrNotImplemented  = errors.New("aehttp: transfer coding not implemented") // 501
)

// Request is a parsed request head.
type Request struct {
	Method []byte
	Target []byte
	// Close is true when the connection ends after the response:
	// "Connection: close", or HTTP/1.0 without "Connection: keep-alive".
	Close bool
}

// Parse parses the request at the start of in. It returns the bytes the
// request takes (its head and body) with r filled in, 0 when in holds only
// part of it, or an error.
func Parse(in []byte, r *Request) (int, error) {
	eol := bytes.IndexByte(in, '\n')
	if eol >= MaxHeaderBytes || eol < 0 && len(in) >= MaxHeaderBytes {
		return 0, ErrURITooLong
	} else if eol < 0 {
		return 0, nil
	}
	if eol == 0 || in[eol-1] != '\r' {
		return 0, ErrBadRequest
	}
	http10, err := parseRequestLine(in[:eol-1], r)
	if err != nil {
		return 0, err
	}
	keepAlive := false
	r.Close = false
	body := 0
	pos := eol + 1
	for {
		if pos > MaxHeaderBytes {
			return 0, ErrHeadersTooLarge
		}
		i := bytes.IndexByte(in[pos:], '\n')
		if i < 0 {
			if len(in) > MaxHeaderBytes {
				return 0, ErrHeadersTooLarge
			}
			return 0, nil
		}
		if i == 0 || in[pos+i-1] != '\r' {
			return 0, ErrBadRequest
		}
		line := in[pos : pos+i-1]
		pos += i + 1
		if len(line) == 0 {
			break // the end of the head
		}
		name, value, err := splitField(line)
		if err != nil {
			return 0, err
		}
		switch {
		case equalFold(name, "connection"):
			for len(value) > 0 {
				opt, rest, _ := bytes.Cut(value, []byte(","))
				opt, value = trimBlanks(opt), rest
				r.Close = r.Close || equalFold(opt, "close")
				keepAlive = keepAlive || equalFold(opt, "keep-alive")
			}
		case equalFold(name, "content-length"):
			n, ok := parseLength(value)
			if !ok {
				return 0, ErrBadRequest
			}
			if n > MaxBody {
				return 0, ErrBodyTooLarge
			}
			body = n
		case equalFold(name, "transfer-encoding"):
			return 0, ErrNotImplemented
		}
	}
	if pos > MaxHeaderBytes {
		return 0, ErrHeadersTooLarge
	}
	if http10 && !keepAlive {
		r.Close = true
	}
	if len(in)-pos < body {
		return 0, nil
	}
	return pos + body, nil
}

// parseRequestLine parses "method SP target SP HTTP/1.x" and reports
// whether the version is 1.0.
func parseRequestLine(line []byte, r *Request) (http10 bool, err error) {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return false, ErrBadRequest
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return false, ErrBadRequest
	}
	method, target, version := line[:sp1], rest[:sp2], rest[sp2+1:]
	if !isToken(method) {
		return false, ErrBadRequest
	}
	for _, b := range target {
		if b <= ' ' || b == 0x7f {
			return false, ErrBadRequest
		}
	}
	if target[0] != '/' && !(len(target) == 1 && target[0] == '*') {
		return false, ErrBadRequest
	}
	switch string(version) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		http10 = true
	default:
		return false, ErrBadRequest
	}
	r.Method, r.Target = method, target
	return http10, nil
}

// splitField splits "name: value", trimming the value's blanks.
func splitField(line []byte) (name, value []byte, err error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return nil, nil, ErrBadRequest // obsolete line folding included
	}
	return line[:colon], trimBlanks(line[colon+1:]), nil
}

// trimBlanks drops the spaces and tabs around a field value (HTTP's
// optional whitespace), on every header of every request: bytes.Trim,
// given a cutset of two bytes, builds a byte set on each call first.
func trimBlanks(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// parseLength parses a Content-Length: decimal digits, at most 10.
func parseLength(v []byte) (int, bool) {
	if len(v) == 0 || len(v) > 10 {
		return 0, false
	}
	n := 0
	for _, b := range v {
		if b < '0' || b > '9' {
			return 0, false
		}
		n = n*10 + int(b-'0')
	}
	return n, true
}

// isToken reports whether b is an RFC 9110 token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// equalFold compares b with the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// dateFormat is the Date header's format (RFC 9110's IMF-fixdate), for
// time.Time.AppendFormat in UTC.
const dateFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// errorStatus is the status of a response to a request Parse refused.
func errorStatus(err error) string {
	switch err {
	case ErrHeadersTooLarge:
		return "431 Request Header Fields Too Large"
	case ErrBodyTooLarge:
		return "413 Content Too Large"
	case ErrURITooLong:
		return "414 URI Too Long"
	case ErrNotImplemented:
		return "501 Not Implemented"
	}
	return "400 Bad Request"
}
