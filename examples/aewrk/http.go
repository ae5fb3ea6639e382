package main

import (
	"bytes"
	"strconv"
)

// parser reads HTTP/1.x responses incrementally: the part of wrk's
// http_parser that wrk uses without a Lua script (the status code,
// keep-alive and the end of each message; headers and body are skipped).
// Bodies are delimited by Content-Length, by chunked transfer coding, or by
// the end of the connection. It is written for this port, not taken from
// http_parser.c.
type parser struct {
	state     pstate
	line      []byte // the status, header, chunk-size or trailer line so far
	status    int
	keepAlive bool
	chunked   bool
	length    int64 // Content-Length, -1 if none
	remaining int64 // body or chunk bytes still to skip
	// on_message_complete is called at the end of each response
	// (wrk's parser_settings.on_message_complete).
	on_message_complete func(p *parser)
	data                any // the connection (http_parser's data)
}

type pstate int

const (
	sStatus    pstate = iota // status line
	sHeader                  // header lines, up to the empty one
	sBody                    // Content-Length body
	sBodyEOF                 // body until the connection closes
	sChunkSize               // chunk-size line
	sChunkData               // chunk data
	sChunkEnd                // the CRLF after chunk data
	sTrailer                 // trailer lines after the last chunk
	sDead                    // after a response that closes the connection
)

// maxLine bounds a status or header line.
const maxLine = 8192

// http_parser_init readies p for the next response.
func http_parser_init(p *parser) {
	p.state, p.line, p.status = sStatus, p.line[:0], 0
	p.keepAlive, p.chunked, p.length, p.remaining = false, false, -1, 0
}

// http_should_keep_alive reports whether the connection may carry another
// request after this response.
func http_should_keep_alive(p *parser) bool { return p.keepAlive }

// http_parser_execute parses data and returns how much of it was taken:
// less than len(data) on an error, as http_parser does.
func http_parser_execute(p *parser, data []byte) int {
	i := 0
	for i < len(data) {
		switch p.state {
		case sBody, sChunkData:
			n := int(min(int64(len(data)-i), p.remaining))
			p.remaining -= int64(n)
			i += n
			if p.remaining > 0 {
				continue
			}
			if p.state == sChunkData {
				p.state = sChunkEnd
			} else {
				p.complete()
			}
		case sBodyEOF:
			return len(data)
		case sDead:
			return i
		default:
			j := bytes.IndexByte(data[i:], '\n')
			end := len(data)
			if j >= 0 {
				end = i + j
			}
			if len(p.line)+end-i > maxLine {
				return i
			}
			p.line = append(p.line, data[i:end]...)
			if j < 0 {
				return len(data)
			}
			i = end + 1
			line := bytes.TrimSuffix(p.line, []byte("\r"))
			ok := p.lineDone(line)
			p.line = p.line[:0]
			if !ok {
				return i - 1
			}
		}
	}
	return i
}

// http_body_is_final is called at the end of the connection: it ends a
// body delimited by it and reports whether the connection ended between
// responses in a way HTTP allows.
func http_body_is_final(p *parser) bool {
	if p.state == sBodyEOF {
		p.complete()
		return true
	}
	return false
}

// lineDone handles one complete line in the line states; false if it is
// malformed.
func (p *parser) lineDone(line []byte) bool {
	switch p.state {
	case sStatus:
		// "HTTP/1.1 200 OK"
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
			return false
		}
		code, err := strconv.Atoi(string(line[9:12]))
		if err != nil || code < 100 {
			return false
		}
		p.status, p.keepAlive = code, line[7] == '1'
		p.state = sHeader
	case sHeader:
		if len(line) == 0 {
			p.headersDone()
			return true
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return false
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return false
			}
			p.length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			p.chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				p.keepAlive = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				p.keepAlive = true
			}
		}
	case sChunkSize:
		if k := bytes.IndexByte(line, ';'); k >= 0 {
			line = line[:k]
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
		if err != nil || n < 0 {
			return false
		}
		if n == 0 {
			p.state = sTrailer
		} else {
			p.state, p.remaining = sChunkData, n
		}
	case sChunkEnd:
		if len(line) != 0 {
			return false
		}
		p.state = sChunkSize
	case sTrailer:
		if len(line) == 0 {
			p.complete()
		}
	}
	return true
}

// headersDone picks how the body ends.
func (p *parser) headersDone() {
	switch {
	case p.status < 200:
		p.state = sStatus // an interim response (100 Continue): the real one follows
	case p.status == 204 || p.status == 304:
		p.complete()
	case p.chunked:
		p.state = sChunkSize
	case p.length > 0:
		p.state, p.remaining = sBody, p.length
	case p.length == 0:
		p.complete()
	default:
		p.state, p.keepAlive = sBodyEOF, false
	}
}

// complete ends a response: the next one may follow on a kept-alive
// connection; after one that closes it, any byte is an error.
func (p *parser) complete() {
	keep := p.keepAlive
	p.state = sDead
	if keep {
		p.state = sStatus
	}
	p.on_message_complete(p)
}
