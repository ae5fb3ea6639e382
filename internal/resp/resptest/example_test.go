package resptest_test

import (
	"fmt"

	"github.com/aemux/mux/internal/resp/resptest"
)

// A request as a client sends it, and a server's reply parsed back.
func Example() {
	fmt.Printf("%q\n", resptest.AppendCommand(nil, "GET", "k"))
	r, n, err := resptest.ParseReply([]byte("*2\r\n$1\r\na\r\n:7\r\nrest"))
	fmt.Println(r.Kind == '*', n, err)
	fmt.Println(r)
	// Output:
	// "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
	// true 15 <nil>
	// a
	// 7
}
