package fdmodel_test

import (
	"fmt"

	"github.com/aemux/mux/tests/fdmodel"
)

// The model says what a poll must report for each end as the fuzz targets
// write, drain and close.
func Example() {
	var s fdmodel.Set
	defer s.CloseAll()
	if err := s.Socketpair(); err != nil {
		panic(err)
	}
	a, b := s.Live()[0], s.Live()[1]
	fmt.Println(a.Ready(), b.Ready())
	if err := s.Write(a, 3); err != nil {
		panic(err)
	}
	fmt.Println(b.Ready())
	if err := s.Drain(b); err != nil {
		panic(err)
	}
	fmt.Println(b.Ready())
	// Output:
	// Writable Writable
	// Readable|Writable
	// Writable
}
