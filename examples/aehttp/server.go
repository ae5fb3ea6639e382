package main

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/aemux/mux/aeconn"
	"github.com/aemux/mux/aeloop"
)

// newServer makes the server: TechEmpower's plaintext and json, keep-alive
// and pipelining, and a Date header that a timer of each loop keeps.
func newServer(cfg aeconn.Config) (*aeconn.Server[struct{}], error) {
	dates := make([][]byte, max(cfg.Loops, 1))
	srv, err := aeconn.New(cfg, aeconn.Handler[struct{}]{OnData: func(c *aeconn.Conn[struct{}], in []byte) int {
		used, date, r := 0, dates[c.Loop().Index()], Request{}
		for !c.Closing() {
			n, err := Parse(in[used:], &r)
			if n == 0 && err == nil {
				break // the rest comes with the next read
			}
			used += n
			switch {
			case err != nil: // 400, 431...: the rest of the input is dropped
				reply(c, "HTTP/1.1 "+errorStatus(err)+textHead, nil, date, true)
			case string(r.Target) == "/plaintext":
				reply(c, "HTTP/1.1 200 OK"+textHead, []byte("Hello, World!"), date, r.Close)
			case string(r.Target) == "/json":
				body, _ := json.Marshal(map[string]string{"message": "Hello, World!"}) // serialized per request
				reply(c, "HTTP/1.1 200 OK\r\nServer: aehttp\r\nContent-Type: application/json", body, date, r.Close)
			default:
				reply(c, "HTTP/1.1 404 Not Found"+textHead, nil, date, r.Close)
			}
		}
		return used
	}})
	for i := 0; err == nil && i < len(dates); i++ {
		dates[i] = time.Now().UTC().AppendFormat(nil, dateFormat)
		_, err = srv.Loops()[i].AE().AddTimer(time.Second, func(*aeloop.Loop, int64, any) time.Duration {
			dates[i] = time.Now().UTC().AppendFormat(dates[i][:0], dateFormat)
			return time.Second
		}, nil, nil)
	}
	return srv, err
}

const textHead = "\r\nServer: aehttp\r\nContent-Type: text/plain"                         // after a text response's status
var endOfHead = map[bool]string{false: "\r\n\r\n", true: "\r\nConnection: close\r\n\r\n"} // by close

// reply writes a response after its first lines; with close, the conn ends once it is sent.
func reply(c *aeconn.Conn[struct{}], head string, body, date []byte, close bool) {
	for _, s := range [...]string{head, "\r\nContent-Length: ", strconv.Itoa(len(body)), "\r\nDate: ", string(date), endOfHead[close]} {
		c.WriteString(s)
	}
	c.Write(body)
	if close {
		c.CloseAfterWrite()
	}
}
