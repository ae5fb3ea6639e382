package anet

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
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
