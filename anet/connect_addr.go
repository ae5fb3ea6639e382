package anet

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// TCPConnectAddr starts a non-blocking connect to a resolved address (from
// Resolve, or netip.MustParseAddrPort) and returns the close-on-exec
// socket, as TCPConnect does for "host:port" text: wait until the fd is
// writable, then SockError tells the outcome. Nothing is parsed or looked
// up, so a client that reconnects often (wrk's reconnect_socket) pays only
// for socket and connect. An invalid address, port 0 or a non-numeric IPv6
// zone fails with an error matching ErrAddr.
func TCPConnectAddr(ap netip.AddrPort) (int, error) {
	sa, family, err := connectSockaddr(ap)
	if err != nil {
		return -1, err
	}
	return connect("connect tcp "+ap.String(), family, sa, nil)
}

// TCPConnectTimeout connects to a resolved address and waits until the
// connection is made, refused, or timeout has passed (ae's blocking
// anetTcpConnect, with aeWait's timeout: mux.WaitFd). timeout <= 0 waits as long as the
// kernel does. The socket returned is connected, close-on-exec and still
// non-blocking, ready for a loop. A timeout fails with an error matching
// unix.ETIMEDOUT; a refused connect with unix.ECONNREFUSED, and so on. On
// failure no fd is left open.
func TCPConnectTimeout(ap netip.AddrPort, timeout time.Duration) (int, error) {
	fd, err := TCPConnectAddr(ap)
	if err != nil {
		return -1, err
	}
	if timeout <= 0 {
		timeout = -1
	}
	what := "connect tcp " + ap.String()
	ready, err := mux.WaitFd(fd, event.Writable, timeout)
	switch {
	case err != nil:
		err = fmt.Errorf("anet: %s: %w", what, err)
	case ready == event.None:
		err = fmt.Errorf("anet: %s: no answer within %v: %w", what, timeout, errTimedOut)
	default:
		var pending error
		if pending, err = sockErrno(fd); err != nil {
			err = sysErr(what, "getsockopt", err)
		} else if pending != nil {
			err = sysErr(what, "connect", pending)
		}
	}
	if err != nil {
		closeFd(fd)
		return -1, err
	}
	return fd, nil
}

// connectSockaddr checks a destination address and makes its sockaddr.
func connectSockaddr(ap netip.AddrPort) (Sockaddr, int, error) {
	if !ap.IsValid() {
		return nil, 0, addrErr(ap.String(), "not a valid address")
	}
	if ap.Port() == 0 {
		return nil, 0, addrErr(ap.String(), "cannot connect to port 0")
	}
	return sockaddr(ap, ap.String())
}
