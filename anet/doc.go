// Package anet is the socket toolkit an ae-style server needs around its
// event loop, after Redis's anet.c: TCP and Unix listeners, non-blocking
// accept and connect, the usual socket options, and address formatting. It
// works on raw file descriptors (ints), not on net.Conn, so the fds can be
// handed straight to aeloop.Loop.AddEvent or mux.Poller.Add. For clients it
// resolves a host and service once (Resolve), connects to the result
// (TCPConnectAddr, or TCPConnectTimeout, which waits) and tells how many
// bytes wait to be read (Pending). NetConn and NetListener hand an fd to
// Go's net package, FromNet takes one back, so loop code and net code can
// pass connections to each other.
//
// Every fd anet creates, whether by TCPServer, UnixServer, Accept, the
// TCPConnect functions, UnixConnect or FromNet, is non-blocking and
// close-on-exec from the start. Closing it is the caller's job (Close),
// until NetConn or NetListener hands it to package net.
//
// Read and Write are the calls a loop handler makes on its connections:
// read(2) and write(2) on unix, recv and send on Windows, with the same
// results everywhere (ErrWouldBlock when the call would wait, 0 and nil
// from Read at end of stream) and no allocation, so one handler serves
// every OS. The package Example runs unchanged on Windows.
//
// # Errors
//
// Nothing panics on bad input. A system call failure comes back wrapped with
// the name of the call, as "anet: <what>: <call>: <errno text>", and
// errors.Is matches the errno (errors.Is(err, unix.ECONNREFUSED)). A
// negative fd, or one too large for the kernel's int, fails with an error
// matching unix.EBADF without reaching the kernel. An address anet cannot
// parse fails with an error matching ErrAddr. Accept, Read and Write that
// would block return ErrWouldBlock, which also matches unix.EAGAIN (the same
// errno as unix.EWOULDBLOCK on every supported unix), and on Windows
// windows.WSAEWOULDBLOCK and syscall.EAGAIN.
//
// # Addresses
//
// TCP addresses are "host:port". The host is an IPv4 or IPv6 literal
// ("127.0.0.1:6379", "[::1]:6379", "[fe80::1%2]:6379" with a numeric zone)
// or "localhost", which means 127.0.0.1; no other names are resolved (anet
// does no DNS). For servers, an empty host or "*" means every IPv4 address
// and "::*" (written "[::*]:port") every IPv6 address, as in Redis's bind
// directive; port 0 asks the kernel for an ephemeral port (see Port). For
// connects, an empty host means 127.0.0.1 and port 0 is refused. An
// IPv4-mapped IPv6 literal ("[::ffff:127.0.0.1]:80") is used as IPv4. The
// port is decimal, 0 to 65535; service names are not looked up. Resolve is
// the one function that looks names up (Go's resolver, service names
// included); its netip.AddrPort results go to TCPConnectAddr and
// TCPConnectTimeout, which parse nothing.
//
// Unix socket addresses are file system paths. On Linux a path that starts
// with '@' names a socket in the abstract namespace (the convention of
// golang.org/x/sys/unix); it has no file, so nothing is removed or chmod'ed.
//
// FormatAddr, PeerAddr and LocalAddr write IPv4 as "127.0.0.1:54321", IPv6
// as "[::1]:6380" (with "%zone" when the scope id is set), and Unix sockets
// as their path, or "" for an unnamed socket such as the client end of a
// connection.
//
// # anet.c to anet
//
//	anet.c                                   anet
//	anetTcpServer(err, port, bindaddr, bl)   TCPServer("bindaddr:port", ListenOptions{Backlog: bl})
//	anetTcp6Server(err, port, bindaddr, bl)  TCPServer("[bindaddr]:port", ListenOptions{V6Only: true, Backlog: bl})
//	anetUnixServer(err, path, perm, bl)      UnixServer(path, perm, ListenOptions{Backlog: bl})
//	anetTcpAccept(err, fd, ip, len, &port)   Accept(fd), or AcceptAddr(fd) and FormatAddr for the peer
//	anetUnixAccept(err, fd)                  Accept(fd)
//	anetTcpNonBlockConnect(err, addr, port)  TCPConnect("addr:port")
//	anetTcpNonBlockBindConnect(...)          TCPConnectFrom("addr:port", "source:0")
//	anetUnixNonBlockConnect(err, path)       UnixConnect(path)
//	anetTcpConnect (blocking)                TCPConnectTimeout(addrport, timeout) (the fd stays non-blocking)
//	anetUnixConnect (blocking)               (none: Unix connects complete at once; see UnixConnect)
//	connect to a getaddrinfo result          TCPConnectAddr(addrport)
//	anetNonBlock(err, fd), anetBlock         NonBlock(fd, true), NonBlock(fd, false)
//	anetCloexec(fd)                          Cloexec(fd)
//	anetEnableTcpNoDelay(err, fd)            TCPNoDelay(fd, true)
//	anetDisableTcpNoDelay(err, fd)           TCPNoDelay(fd, false)
//	anetKeepAlive(err, fd, interval)         KeepAlive(fd, interval) (a time.Duration, not seconds)
//	anetSetSendBuffer(err, fd, size)         SendBuffer(fd, size)
//	(none)                                   RecvBuffer(fd, size)
//	anetGetError(fd)                         SockError(fd)
//	anetFdToString(fd, ..., FD_TO_PEER_NAME) PeerAddr(fd)
//	anetFdToString(fd, ..., FD_TO_SOCK_NAME) LocalAddr(fd), Port(fd)
//	anetFormatAddr(buf, len, ip, port)       FormatAddr(sockaddr)
//	anetV6Only(err, fd)                      ListenOptions.V6Only
//	anetSetReuseAddr(err, fd)                (always done by TCPServer and TCPConnectFrom)
//	SO_REUSEPORT (not in anet.c)             ListenOptions.ReusePort
//	ANET_OK / ANET_ERR and the err buffer    nil / an error; errors.Is matches the errno or ErrAddr
//	anetResolve, getaddrinfo(host, service)  Resolve(ctx, host, service) ([]netip.AddrPort, error)
//	ioctl(fd, FIONREAD, &n)                  Pending(fd)
//	(none)                                   NetConn(fd), NetListener(fd), FromNet(c)
//
// # Platforms
//
//	           new fds flagged by     KeepAlive timers                   ReusePort sets   spread  abstract Unix      Pending
//	linux      SOCK_CLOEXEC, accept4  TCP_KEEPIDLE, KEEPINTVL, KEEPCNT   SO_REUSEPORT     yes     yes ("@name")  SIOCINQ
//	darwin     fcntl under ForkLock   TCP_KEEPALIVE, KEEPINTVL, KEEPCNT  SO_REUSEPORT     no      no             FIONREAD
//	freebsd    SOCK_CLOEXEC, accept4  TCP_KEEPIDLE, KEEPINTVL, KEEPCNT   SO_REUSEPORT_LB  yes     no             FIONREAD
//	dragonfly  SOCK_CLOEXEC, accept4  TCP_KEEPIDLE, KEEPINTVL, KEEPCNT   SO_REUSEPORT     sysctl  no             FIONREAD
//	netbsd     SOCK_CLOEXEC, paccept  TCP_KEEPIDLE, KEEPINTVL, KEEPCNT   SO_REUSEPORT     no      no             FIONREAD
//	openbsd    SOCK_CLOEXEC, accept4  none (SO_KEEPALIVE only)           SO_REUSEPORT     no      no             FIONREAD
//
// "spread" is whether the kernel spreads new connections over listeners
// sharing a port (DragonFly: per its system-wide setting for SO_REUSEPORT
// load balancing). Where it does not, ReusePort still lets them bind, but
// typically one of them receives every connection: use one listener and
// hand the fds out instead.
//
// On Linux, Accept allocates nothing: it calls accept4 without an address
// buffer. Elsewhere, and in AcceptAddr everywhere, golang.org/x/sys/unix
// allocates the peer's decoded address.
//
// V6Only false leaves the system default for an IPv6 wildcard listener
// ("[::]:port"), which differs: Linux and macOS also accept IPv4 on it
// unless configured otherwise (net.ipv6.bindv6only, net.inet6.ip6.v6only),
// FreeBSD and NetBSD do not by default, and DragonFly and OpenBSD never do.
//
// On darwin there is no accept4 or SOCK_CLOEXEC, so a new fd exists for a
// moment without close-on-exec. anet holds syscall.ForkLock for reading
// across that moment, as package os does, so a concurrent os/exec (which
// takes it for writing) cannot leak the fd into a child. Code that forks by
// other means (cgo) gets no such guarantee.
//
// # Windows
//
// On Windows (golang.org/x/sys/windows) an fd is a SOCKET handle, as in
// package mux's iocp backend, and the API is the same, with these
// differences:
//
//   - Sockets are made with WSASocket and WSA_FLAG_NO_HANDLE_INHERIT, so
//     no child process inherits them; Accept clears HANDLE_FLAG_INHERIT on
//     the new socket, and Cloexec does the same for any handle.
//     Non-blocking mode is ioctlsocket's FIONBIO (NonBlock).
//   - TCPServer sets SO_EXCLUSIVEADDRUSE, not SO_REUSEADDR: Windows rebinds
//     a port with connections in TIME_WAIT without help, and its
//     SO_REUSEADDR would let another socket bind the port in use.
//     TCPConnectFrom binds without SO_REUSEADDR for the same reason.
//   - An IPv6 listener is IPv6-only by default, whatever V6Only says.
//   - ListenOptions.ReusePort, UnixServer, UnixConnect, NetConn,
//     NetListener and FromNet fail with an error matching
//     errors.ErrUnsupported: Windows has no load-balanced port sharing,
//     anet does not use Windows' AF_UNIX sockets, and package net can
//     neither adopt a socket handle nor give one up.
//   - KeepAlive's timers are set with SIO_KEEPALIVE_VALS; the probe count
//     is Windows' own (10). Pending is ioctlsocket's FIONREAD.
//   - Errors match Winsock's errnos: windows.WSAECONNREFUSED,
//     windows.WSAEADDRINUSE, windows.WSAETIMEDOUT (TCPConnectTimeout's own
//     timeout). An fd that cannot be a handle (negative, or above 32 bits)
//     fails with one matching windows.WSAENOTSOCK, what Winsock answers
//     for a closed handle; on unix such errors match unix.EBADF.
//   - A TCPConnect in progress is answered WSAEWOULDBLOCK by Winsock; anet
//     takes that as unix's EINPROGRESS, and SockError reads the outcome
//     from SO_ERROR once the fd is writable, as on unix.
//
// The Windows tests run under Wine on Linux in CI.
package anet
