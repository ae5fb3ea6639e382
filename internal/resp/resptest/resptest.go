// Package resptest is the client side of RESP2 that only aemux's tests
// need: building the requests a client sends (AppendCommand) and parsing
// the replies a server sends back (ParseReply). The server in cmd/aeserver
// does neither, so package resp keeps only what it does.
package resptest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/aemux/mux/internal/resp"
)

// AppendCommand appends a request as a multibulk array of bulk strings,
// the form clients send.
func AppendCommand(b []byte, args ...string) []byte {
	b = resp.AppendArray(b, len(args))
	for _, a := range args {
		b = resp.AppendBulkString(b, a)
	}
	return b
}

// Reply is one parsed RESP2 reply.
type Reply struct {
	Kind  byte   // '+' status, '-' error, ':' integer, '$' bulk, '*' array
	Str   string // status, error text (without '-') or bulk data
	Int   int64  // integer value
	Null  bool   // "$-1" or "*-1"
	Elems []Reply
}

// String renders the reply the way redis-cli does without a terminal:
// one line per element, nil as an empty line, errors as their text.
func (r Reply) String() string {
	switch r.Kind {
	case ':':
		return strconv.FormatInt(r.Int, 10)
	case '*':
		parts := make([]string, len(r.Elems))
		for i, e := range r.Elems {
			parts[i] = e.String()
		}
		return strings.Join(parts, "\n")
	}
	return r.Str
}

// ParseReply parses the reply at the start of buf. It returns the reply and
// its length, n == 0 when buf holds only part of it, or an error for
// malformed input.
func ParseReply(buf []byte) (r Reply, n int, err error) {
	if len(buf) == 0 {
		return Reply{}, 0, nil
	}
	nl := bytes.Index(buf, []byte("\r\n"))
	if nl < 0 {
		return Reply{}, 0, nil
	}
	line := buf[1:nl]
	r.Kind = buf[0]
	n = nl + 2
	switch r.Kind {
	case '+', '-':
		r.Str = string(line)
		return r, n, nil
	case ':':
		v, ok := resp.ParseInt(line)
		if !ok {
			return Reply{}, 0, fmt.Errorf("resp: bad integer reply %q", line)
		}
		r.Int = v
		return r, n, nil
	case '$':
		size, ok := resp.ParseInt(line)
		if !ok || size < -1 {
			return Reply{}, 0, fmt.Errorf("resp: bad bulk length %q", line)
		}
		if size == -1 {
			r.Null = true
			return r, n, nil
		}
		if int64(len(buf)-n) < size+2 {
			return Reply{}, 0, nil
		}
		r.Str = string(buf[n : n+int(size)])
		if buf[n+int(size)] != '\r' || buf[n+int(size)+1] != '\n' {
			return Reply{}, 0, fmt.Errorf("resp: bulk not followed by CRLF")
		}
		return r, n + int(size) + 2, nil
	case '*':
		count, ok := resp.ParseInt(line)
		if !ok || count < -1 {
			return Reply{}, 0, fmt.Errorf("resp: bad array length %q", line)
		}
		if count == -1 {
			r.Null = true
			return r, n, nil
		}
		r.Elems = make([]Reply, 0, min(count, 1024))
		for range count {
			e, m, err := ParseReply(buf[n:])
			if err != nil || m == 0 {
				return Reply{}, 0, err
			}
			r.Elems = append(r.Elems, e)
			n += m
		}
		return r, n, nil
	}
	return Reply{}, 0, fmt.Errorf("resp: unknown reply type %q", r.Kind)
}
