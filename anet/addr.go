package anet

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// addrErr is an error matching ErrAddr for addr, saying why.
func addrErr(addr, why string) error {
	return fmt.Errorf("%w %q: %s", ErrAddr, addr, why)
}

// parseTCP turns "host:port" into a sockaddr and its address family. For a
// listener (listen), an empty host or "*" is every IPv4 address, "::*"
// every IPv6 address, and port 0 is allowed; for a connect, an empty host
// is 127.0.0.1 and port 0 is refused.
func parseTCP(addr string, listen bool) (Sockaddr, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, addrErr(addr, "want host:port")
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, 0, addrErr(addr, "the port must be a number from 0 to 65535")
	}
	if port == 0 && !listen {
		return nil, 0, addrErr(addr, "cannot connect to port 0")
	}
	var ip netip.Addr
	switch {
	case host == "" && !listen, strings.EqualFold(host, "localhost"):
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	case listen && (host == "" || host == "*"):
		ip = netip.IPv4Unspecified()
	case listen && host == "::*":
		ip = netip.IPv6Unspecified()
	default:
		ip, err = netip.ParseAddr(host)
		if err != nil {
			return nil, 0, addrErr(addr, "the host must be an IP address or localhost (anet does no DNS)")
		}
	}
	return sockaddr(netip.AddrPortFrom(ip, uint16(port)), addr)
}

// sockaddr makes the sockaddr of ap and returns its address family; an
// IPv4-mapped IPv6 address is used as IPv4. addr names ap in errors.
func sockaddr(ap netip.AddrPort, addr string) (Sockaddr, int, error) {
	ip, port := ap.Addr().Unmap(), int(ap.Port())
	if ip.Is4() {
		return &sockaddrInet4{Port: port, Addr: ip.As4()}, afInet, nil
	}
	if !ip.Is6() {
		return nil, 0, addrErr(addr, "not an IP address")
	}
	var zone uint64
	if z := ip.Zone(); z != "" {
		var err error
		zone, err = strconv.ParseUint(z, 10, 32)
		if err != nil {
			return nil, 0, addrErr(addr, "the IPv6 zone must be an interface index")
		}
	}
	return &sockaddrInet6{Port: port, ZoneId: uint32(zone), Addr: ip.As16()}, afInet6, nil
}

// FormatAddr writes a socket address as anet's functions report it: IPv4
// as "127.0.0.1:6379", IPv6 in brackets as "[::1]:6379" (with "%zone", the
// numeric scope id, when set), and a Unix socket as its path, "" for an
// unnamed one. (golang.org/x/sys/unix decodes Linux's unnamed socket as
// "@", a lone abstract-namespace marker; FormatAddr reports that as "".)
// nil and other address types give "".
func FormatAddr(sa Sockaddr) string {
	switch sa := sa.(type) {
	case *sockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
	case *sockaddrInet6:
		ip := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(sa.ZoneId), 10))
		}
		return netip.AddrPortFrom(ip, uint16(sa.Port)).String()
	}
	return formatOther(sa)
}

// PeerAddr returns the address of fd's peer (getpeername(2)), formatted as
// FormatAddr does. An unconnected socket fails with an error matching
// unix.ENOTCONN.
func PeerAddr(fd int) (string, error) {
	return formatName(fd, "peer address", "getpeername", getpeername)
}

// LocalAddr returns fd's own address (getsockname(2)), formatted as
// FormatAddr does: after TCPServer on port 0, this shows the port chosen.
func LocalAddr(fd int) (string, error) {
	return formatName(fd, "local address", "getsockname", getsockname)
}

// formatName runs getpeername or getsockname (get) on fd and formats the
// result.
func formatName(fd int, what, call string, get func(int) (Sockaddr, error)) (string, error) {
	if !validFd(fd) {
		return "", fdErr(what, fd, call, errBadFd)
	}
	sa, err := get(fd)
	if err != nil {
		return "", fdErr(what, fd, call, err)
	}
	return FormatAddr(sa), nil
}

// Port returns the local port of a TCP socket, the one the kernel chose
// when TCPServer was given port 0. A Unix socket fails with an error
// matching unix.EAFNOSUPPORT.
func Port(fd int) (int, error) {
	var err error = errBadFd
	if validFd(fd) {
		var sa Sockaddr
		sa, err = getsockname(fd)
		switch sa := sa.(type) {
		case *sockaddrInet4:
			return sa.Port, nil
		case *sockaddrInet6:
			return sa.Port, nil
		}
		if err == nil {
			return 0, fmt.Errorf("anet: port of fd %d: not a TCP/IP socket: %w", fd, errAfNoSupport)
		}
	}
	return 0, fdErr("port", fd, "getsockname", err)
}
