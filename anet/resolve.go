package anet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/aemux/mux"
	"github.com/aemux/mux/event"
)

// Resolve looks up host and service once, as wrk and other ae clients do
// with getaddrinfo before their first connect, so that reconnects reuse the
// result (TCPConnectAddr) instead of parsing or looking up again. It uses
// Go's resolver (net.DefaultResolver: /etc/hosts, DNS, and the system
// resolver where Go defers to it); an IP literal is returned as is, without
// a lookup. service is a port number ("8080") or a TCP service name
// ("http", from /etc/services or Go's built-in list). ctx bounds the
// lookup.
//
// The addresses come in the resolver's order of preference, IPv4-mapped
// IPv6 addresses as IPv4, each at most once. Errors: an empty host or
// service, or a port out of range, match ErrAddr; a failed lookup is
// returned wrapped (a *net.DNSError, which errors.As finds, or ctx's error).
func Resolve(ctx context.Context, host, service string) ([]netip.AddrPort, error) {
	what := "resolve " + net.JoinHostPort(host, service)
	if host == "" || service == "" {
		return nil, addrErr(net.JoinHostPort(host, service), "want a host and a service")
	}
	port, err := lookupPort(ctx, service)
	if err != nil {
		return nil, fmt.Errorf("anet: %s: %w", what, err)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("anet: %s: %w", what, err)
	}
	out := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		ap := netip.AddrPortFrom(ip.Unmap(), port)
		if !containsAddrPort(out, ap) {
			out = append(out, ap)
		}
	}
	return out, nil
}

// lookupPort turns a decimal port or a TCP service name into a port.
func lookupPort(ctx context.Context, service string) (uint16, error) {
	if n, err := strconv.ParseUint(service, 10, 16); err == nil {
		return uint16(n), nil
	} else if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
		return 0, addrErr(service, "the port must be a number from 0 to 65535")
	}
	p, err := net.DefaultResolver.LookupPort(ctx, "tcp", service)
	if err != nil {
		return 0, err
	}
	return uint16(p), nil
}

func containsAddrPort(list []netip.AddrPort, ap netip.AddrPort) bool {
	for _, x := range list {
		if x == ap {
			return true
		}
	}
	return false
}

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
