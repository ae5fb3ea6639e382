package winsock_test

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"

	"github.com/aemux/mux/internal/winsock"
)

// A non-blocking listener with nothing to accept answers WSAEWOULDBLOCK.
func Example() {
	if err := winsock.Startup(); err != nil {
		fmt.Println("WSAStartup:", err)
		return
	}
	s, err := windows.Socket(windows.AF_INET, windows.SOCK_STREAM, windows.IPPROTO_TCP)
	if err != nil {
		fmt.Println("socket:", err)
		return
	}
	defer windows.Closesocket(s)
	windows.Bind(s, &windows.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}})
	windows.Listen(s, 1)
	if err := winsock.SetNonblock(int(s), true); err != nil {
		fmt.Println("FIONBIO:", err)
		return
	}
	_, err = winsock.Accept(int(s), nil, nil)
	fmt.Println(errors.Is(err, windows.WSAEWOULDBLOCK))
	_, err = winsock.HandleFlags(int(s))
	fmt.Println(err == nil)
	// Output:
	// true
	// true
}
