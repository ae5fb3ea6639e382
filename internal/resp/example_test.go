package resp_test

import (
	"fmt"

	"github.com/aemux/mux/internal/resp"
)

// A server's read path: parse every complete request in the buffer, keep
// the incomplete rest for the next read.
func Example() {
	var p resp.Parser
	buf := []byte("PING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nGET k\r\n*2\r\n$3\r\nGET")
	for {
		argv, n, err := p.Next(buf)
		if err != nil || n == 0 {
			break
		}
		fmt.Printf("%q\n", argv)
		buf = buf[n:]
	}
	fmt.Printf("left for the next read: %q\n", buf)
	reply := resp.AppendBulk(resp.AppendSimple(nil, "OK"), []byte("hello"))
	fmt.Printf("%q\n", reply)
	// Output:
	// ["PING"]
	// ["SET" "k" "hello"]
	// ["GET" "k"]
	// left for the next read: "*2\r\n$3\r\nGET"
	// "+OK\r\n$5\r\nhello\r\n"
}
