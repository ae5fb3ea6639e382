// Package resp reads and writes RESP2, the Redis serialization protocol, the
// way redis-server 7 does: requests are either multibulk ("*2\r\n$3\r\nGET\r\n
// $1\r\nk\r\n") or inline ("GET k\r\n", split like sdssplitargs, quotes and
// escapes included), and malformed input gets the same "Protocol error: ..."
// text that Redis replies with before closing the connection.
//
// The Parser keeps the state of a partly received request between calls, so a
// large request arriving in many reads is scanned once, not once per read, and
// parsing a complete request allocates nothing once its buffers have grown.
package resp

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Limits of the protocol, as in redis-server 7.
const (
	// MaxInline is the longest inline request, and the longest multibulk
	// or bulk header still waiting for its "\r" (PROTO_INLINE_MAX_SIZE).
	MaxInline = 64 << 10
	// DefaultMaxBulk is the default longest bulk argument
	// (proto-max-bulk-len, 512 MiB).
	DefaultMaxBulk = 512 << 20
	// MaxMultibulk is the largest argument count a request may announce;
	// more is "invalid multibulk length". Redis 7.0 accepts up to INT_MAX;
	// later Redis versions refuse more than 1024*1024, as this does, so
	// that one header cannot announce an argument list of gigabytes.
	// Whatever the count announced, the Parser's memory follows the
	// arguments that actually arrived (see Footprint).
	MaxMultibulk = 1024 * 1024
)

// ErrProtocol is matched (errors.Is) by every *ProtocolError.
//
//lint:ignore ST1005 the text is Redis's, which clients match
var ErrProtocol = errors.New("Protocol error")

// ProtocolError is malformed input. Its Error text is what Redis replies
// (after "-ERR "), for example "Protocol error: invalid bulk length".
type ProtocolError struct{ Msg string }

func (e *ProtocolError) Error() string { return "Protocol error: " + e.Msg }

// Is makes errors.Is(err, ErrProtocol) true.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

func protoErr(msg string) error { return &ProtocolError{Msg: msg} }

type span struct{ start, end int }

// Parser splits a stream of requests into argument vectors. Feed it the
// unconsumed input, always starting at the first byte of the request it is
// working on: the bytes already seen of an incomplete request must be
// passed again, unchanged, followed by what arrived since (the caller may
// move them, e.g. to the front of its buffer, in between).
type Parser struct {
	// MaxBulk is the longest bulk argument accepted; 0 means DefaultMaxBulk.
	MaxBulk int64

	argc  int   // arguments still expected of a multibulk request; 0: none started
	bulk  int64 // length of the bulk being read, or -1 while its header is due
	off   int   // bytes of the current request consumed so far
	scan  int   // bytes of the current line already searched for its end
	spans []span
	argv  [][]byte
	quote []byte // inline arguments rewritten by quoting and escapes
}

// Reset forgets a partly parsed request.
func (p *Parser) Reset() {
	p.argc, p.bulk, p.off, p.scan, p.spans = 0, -1, 0, 0, p.spans[:0]
}

// Footprint returns the bytes of memory the Parser holds for argument
// lists (its span, argument and quote buffers, by capacity). They grow
// with the arguments parsed, 16 to 40 bytes per argument however short
// the argument is, so a server that bounds a client's input must count
// them beside its unparsed bytes: a request of a million empty arguments
// is 6 MB of input but 16 MB of spans (Redis counts its argv the same way
// against client-query-buffer-limit).
func (p *Parser) Footprint() int {
	return cap(p.spans)*int(unsafe.Sizeof(span{})) + cap(p.argv)*int(unsafe.Sizeof([]byte(nil))) + cap(p.quote)
}

// Shrink drops the Parser's buffers when they are larger than keep bytes
// in all (see Footprint) and no request is partly parsed, so that one huge
// request does not pin its argument list for the life of the connection.
func (p *Parser) Shrink(keep int) {
	if p.argc == 0 && p.Footprint() > keep {
		p.spans, p.argv, p.quote = nil, nil, nil
	}
}

// Need returns how many more bytes the request being parsed needs at least
// before Next can make progress: the rest of a bulk argument and its
// "\r\n", or 1 while waiting for a header line. It is the length the peer
// declared, not what it sent: a caller sizing its buffer from it must cap
// the growth by what has arrived (the peer may never send the rest).
func (p *Parser) Need(buf []byte) int {
	if p.argc > 0 && p.bulk >= 0 {
		if need := p.off + int(p.bulk) + 2 - len(buf); need > 0 {
			return need
		}
	}
	return 1
}

// Next parses the request at the start of buf. It returns:
//   - the arguments and the request's length n, when buf holds a whole
//     request (argv aliases buf and the Parser's buffers; it is valid until
//     the next call);
//   - no arguments and n > 0 for a request with none (an empty inline line,
//     "*0\r\n", "*-1\r\n"): skip n bytes;
//   - (nil, 0, nil) when more input is needed;
//   - a *ProtocolError, after which the connection should be closed.
func (p *Parser) Next(buf []byte) (argv [][]byte, n int, err error) {
	if p.argc == 0 {
		if len(buf) == 0 {
			return nil, 0, nil
		}
		if buf[0] != '*' {
			return p.inline(buf)
		}
		if p.scan == 0 {
			if argv, n, ok := p.whole(buf); ok {
				return argv, n, nil
			}
		}
		// The multibulk header: "*<count>\r\n".
		v, end, err := p.header(buf, 0, "too big mbulk count string")
		if end < 0 || err != nil {
			return nil, 0, err
		}
		if v > MaxMultibulk {
			return nil, 0, protoErr("invalid multibulk length")
		}
		if v <= 0 {
			return nil, end, nil
		}
		p.argc, p.bulk, p.off, p.spans = int(v), -1, end, p.spans[:0]
	}
	for p.argc > 0 {
		if p.bulk < 0 {
			if p.off >= len(buf) {
				return nil, 0, nil
			}
			if c := buf[p.off]; c != '$' {
				p.Reset()
				return nil, 0, protoErr(fmt.Sprintf("expected '$', got '%c'", c))
			}
			v, end, err := p.header(buf, p.off, "too big bulk count string")
			if err == nil && end >= 0 && (v < 0 || v > p.maxBulk()) {
				err = protoErr("invalid bulk length")
			}
			if err != nil {
				p.Reset()
				return nil, 0, err
			}
			if end < 0 {
				return nil, 0, nil
			}
			p.bulk, p.off = v, end
		}
		// As Redis does, the two bytes after the data are skipped unread.
		if int64(len(buf)-p.off) < p.bulk+2 {
			return nil, 0, nil
		}
		p.spans = append(p.spans, span{p.off, p.off + int(p.bulk)})
		p.off += int(p.bulk) + 2
		p.bulk = -1
		p.argc--
	}
	p.argv = p.argv[:0]
	for _, s := range p.spans {
		p.argv = append(p.argv, buf[s.start:s.end:s.end])
	}
	n = p.off
	p.Reset()
	return p.argv, n, nil
}

// wholeMaxArgs bounds the requests whole takes: larger ones go the
// stateful way at once.
const wholeMaxArgs = 64

// whole is the fast path of Next for the common request: a multibulk
// request of at most wholeMaxArgs arguments, entirely in buf, with short
// canonical headers (digits only, no leading zero, "\r" and one more byte
// present). It parses it in one pass straight into argv, without the
// resumable state. ok is false for anything else, incomplete or malformed:
// the general path then parses buf from the start and decides.
func (p *Parser) whole(buf []byte) (argv [][]byte, n int, ok bool) {
	argc, i, ok := shortHeader(buf, 0)
	if !ok || argc == 0 || argc > wholeMaxArgs {
		return nil, 0, false
	}
	maxBulk := p.maxBulk()
	p.argv = p.argv[:0]
	for ; argc > 0; argc-- {
		if i >= len(buf) || buf[i] != '$' {
			return nil, 0, false
		}
		v, start, ok := shortHeader(buf, i)
		if !ok || v > maxBulk || int64(len(buf)-start) < v+2 {
			return nil, 0, false
		}
		end := start + int(v)
		p.argv = append(p.argv, buf[start:end:end])
		i = end + 2 // the two bytes after the data are skipped unread, as in Redis
	}
	return p.argv, i, true
}

// shortHeader reads the "<c><digits>\r" line at buf[at:] when its number
// has 1 to 18 digits and no leading zero (or is "0"), and the byte after
// the '\r' is in buf. It returns the number and the offset after that byte.
func shortHeader(buf []byte, at int) (v int64, end int, ok bool) {
	if at < 0 || at+3 >= len(buf) {
		return 0, 0, false
	}
	b := buf[at+1:] // at least 3 bytes
	d := b[0] - '0'
	if d > 9 {
		return 0, 0, false
	}
	if b[1] == '\r' { // one digit, the common case ("*3", "$3")
		return int64(d), at + 4, true
	}
	if d == 0 {
		return 0, 0, false
	}
	v = int64(d)
	for i := 1; i < len(b) && i <= 18; i++ {
		d = b[i] - '0'
		if d > 9 {
			if b[i] == '\r' && i+1 < len(b) {
				return v, at + i + 3, true
			}
			return 0, 0, false
		}
		v = v*10 + int64(d)
	}
	return 0, 0, false
}

func (p *Parser) maxBulk() int64 {
	if p.MaxBulk > 0 {
		return p.MaxBulk
	}
	return DefaultMaxBulk
}

// header parses the line "<c><integer>\r\n" at buf[at:]. It returns the
// integer and the offset after the line, or end < 0 when the line is not
// complete yet. As in Redis, the line ends at the first '\r', and the byte
// after it is skipped unread. What was searched already is not searched
// again when the line arrives a byte at a time.
func (p *Parser) header(buf []byte, at int, tooBig string) (v int64, end int, err error) {
	// The common case in one pass: a short positive count without a
	// leading zero, its "\r\n" already here.
	if p.scan == 0 {
		if v, end, ok := shortHeader(buf, at); ok {
			return v, end, nil
		}
	}
	from := max(p.scan, at)
	cr := bytes.IndexByte(buf[from:], '\r')
	if cr >= 0 {
		cr += from - at
	} else {
		p.scan = len(buf)
	}
	if cr > MaxInline || (cr < 0 && len(buf)-at > MaxInline) {
		// Checked whether or not the '\r' has arrived, unlike Redis, so
		// that the outcome does not depend on how the input was split.
		return 0, -1, protoErr(tooBig)
	}
	if cr < 0 {
		return 0, -1, nil
	}
	if at+cr+1 >= len(buf) {
		p.scan = at + cr
		return 0, -1, nil
	}
	p.scan = 0
	v, ok := ParseInt(buf[at+1 : at+cr])
	if !ok {
		if buf[at] == '*' {
			return 0, -1, protoErr("invalid multibulk length")
		}
		return 0, -1, protoErr("invalid bulk length")
	}
	return v, at + cr + 2, nil
}

// ParseInt parses a decimal int64 as Redis's string2ll does: an optional
// '-', then digits without leading zeros ("0" alone is fine), nothing else,
// no overflow.
func ParseInt(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	if b[0] == '0' {
		return 0, len(b) == 1 && !neg
	}
	var u uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// inline parses a request line ending in '\n' (a '\r' before it is dropped).
func (p *Parser) inline(buf []byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(buf[p.scan:], '\n') // p.scan: searched by earlier calls
	if nl >= 0 {
		nl += p.scan
	}
	if nl > MaxInline || (nl < 0 && len(buf) > MaxInline) {
		// Whether or not the newline has arrived (see header).
		return nil, 0, protoErr("too big inline request")
	}
	if nl < 0 {
		p.scan = len(buf)
		return nil, 0, nil
	}
	p.scan = 0
	line := buf[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	argv, err := p.splitArgs(line)
	if err != nil {
		return nil, 0, err
	}
	return argv, nl + 1, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// splitArgs splits an inline line as sdssplitargs does: arguments separated
// by white space; "double quotes" with \n \r \t \b \a \xHH and \<c> escapes;
// 'single quotes' with \' only; a closing quote must be followed by white
// space or the end. Arguments without quotes alias line; the others are
// rewritten into the Parser's quote buffer.
func (p *Parser) splitArgs(line []byte) ([][]byte, error) {
	p.argv = p.argv[:0]
	p.spans = p.spans[:0]
	p.quote = p.quote[:0]
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i == len(line) {
			break
		}
		// Fast path: a plain token, sliced out of line.
		j := i
		for j < len(line) && !isSpace(line[j]) && line[j] != '"' && line[j] != '\'' {
			j++
		}
		if j == len(line) || isSpace(line[j]) {
			p.argv = append(p.argv, line[i:j:j])
			i = j
			continue
		}
		// Quotes: rebuild the token in p.quote.
		start := len(p.quote)
		p.quote = append(p.quote, line[i:j]...)
		i = j
		inq, insq := false, false
	token:
		for {
			if i == len(line) {
				if inq || insq {
					return nil, protoErr("unbalanced quotes in request")
				}
				break
			}
			c := line[i]
			switch {
			case inq:
				if c == '\\' && i+3 < len(line) && line[i+1] == 'x' {
					if h, ok := unhex(line[i+2]); ok {
						if l, ok := unhex(line[i+3]); ok {
							p.quote = append(p.quote, h<<4|l)
							i += 4
							continue
						}
					}
				}
				if c == '\\' && i+1 < len(line) {
					i++
					c = line[i]
					switch c {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					}
					p.quote = append(p.quote, c)
				} else if c == '"' {
					break token // at the closing quote
				} else {
					p.quote = append(p.quote, c)
				}
			case insq:
				if c == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					p.quote = append(p.quote, '\'')
				} else if c == '\'' {
					break token // at the closing quote
				} else {
					p.quote = append(p.quote, c)
				}
			default:
				switch {
				case isSpace(c):
					break token
				case c == '"':
					inq = true
				case c == '\'':
					insq = true
				default:
					p.quote = append(p.quote, c)
				}
			}
			i++
		}
		if inq || insq {
			// Stopped at a closing quote, which white space or the end
			// of the line must follow.
			if i+1 < len(line) && !isSpace(line[i+1]) {
				return nil, protoErr("unbalanced quotes in request")
			}
			i++
		}
		// p.quote may still move as it grows: the argument is filled in
		// below, from its span.
		p.spans = append(p.spans, span{start, len(p.quote)})
		p.argv = append(p.argv, nil)
	}
	if len(p.spans) > 0 {
		k := 0
		for i, a := range p.argv {
			if a == nil {
				s := p.spans[k]
				p.argv[i] = p.quote[s.start:s.end:s.end]
				k++
			}
		}
		p.spans = p.spans[:0]
	}
	return p.argv, nil
}
