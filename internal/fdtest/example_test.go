//go:build unix

package fdtest_test

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/aemux/mux/internal/fdtest"
)

// A non-blocking pipe: reading it empty is EAGAIN, not a hang.
func Example() {
	r, w, err := fdtest.Pipe()
	if err != nil {
		panic(err)
	}
	defer unix.Close(r)
	defer unix.Close(w)
	_, err = unix.Read(r, make([]byte, 1))
	fmt.Println(err == unix.EAGAIN)
	// Output: true
}
