package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
)

// httpCodec parses requests and builds responses for one connection.
type httpCodec struct {
	out []byte
}

type request struct {
	target []byte
	close  bool
}

const maxHead = 8 << 10

var (
	errBad      = errors.New("malformed request")
	errTooLarge = errors.New("request header fields too large")
	crlf2       = []byte("\r\n\r\n")
)

// parse parses the request at the start of buf: the bytes it takes (0 when
// incomplete), or an error.
func (hc *httpCodec) parse(buf []byte) (int, request, error) {
	var req request
	end := bytes.Index(buf, crlf2)
	if end < 0 {
		if len(buf) > maxHead {
			return 0, req, errTooLarge
		}
		return 0, req, nil
	}
	if end+4 > maxHead {
		return 0, req, errTooLarge
	}
	head := buf[:end+2]
	eol := bytes.Index(head, []byte("\r\n"))
	line := head[:eol]
	sp1 := bytes.IndexByte(line, ' ')
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return 0, req, errBad
	}
	version := line[sp2+1:]
	req.target = line[sp1+1 : sp2]
	if req.target[0] != '/' && string(req.target) != "*" {
		return 0, req, errBad
	}
	switch string(version) {
	case "HTTP/1.1":
	case "HTTP/1.0":
		req.close = true
	default:
		return 0, req, errBad
	}
	body := 0
	for rest := head[eol+2:]; len(rest) > 0; {
		i := bytes.Index(rest, []byte("\r\n"))
		field := rest[:i]
		rest = rest[i+2:]
		colon := bytes.IndexByte(field, ':')
		if colon <= 0 {
			return 0, req, errBad
		}
		name, value := field[:colon], bytes.TrimSpace(field[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				req.close = true
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				req.close = false
			}
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.Atoi(string(value))
			if err != nil || n < 0 || n > 1<<20 {
				return 0, req, errBad
			}
			body = n
		}
	}
	if len(buf) < end+4+body {
		return 0, req, nil
	}
	return end + 4 + body, req, nil
}

func (hc *httpCodec) appendResponse(req request, date []byte) {
	switch string(req.target) {
	case "/plaintext":
		hc.appendHead("200 OK", "text/plain", 13, date, req.close)
		hc.out = append(hc.out, "Hello, World!"...)
	case "/json":
		body, _ := json.Marshal(map[string]string{"message": "Hello, World!"})
		hc.appendHead("200 OK", "application/json", len(body), date, req.close)
		hc.out = append(hc.out, body...)
	default:
		hc.appendHead("404 Not Found", "text/plain", 0, date, req.close)
	}
}

func (hc *httpCodec) appendError(err error, date []byte) {
	status := "400 Bad Request"
	if err == errTooLarge {
		status = "431 Request Header Fields Too Large"
	}
	hc.appendHead(status, "text/plain", 0, date, true)
}

func (hc *httpCodec) appendHead(status, ctype string, length int, date []byte, close bool) {
	hc.out = append(hc.out, "HTTP/1.1 "...)
	hc.out = append(hc.out, status...)
	hc.out = append(hc.out, "\r\nServer: gnet\r\nContent-Type: "...)
	hc.out = append(hc.out, ctype...)
	hc.out = append(hc.out, "\r\nContent-Length: "...)
	hc.out = strconv.AppendInt(hc.out, int64(length), 10)
	if close {
		hc.out = append(hc.out, "\r\nConnection: close"...)
	}
	hc.out = append(hc.out, "\r\nDate: "...)
	hc.out = append(hc.out, date...)
	hc.out = append(hc.out, "\r\n\r\n"...)
}
