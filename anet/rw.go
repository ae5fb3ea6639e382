package anet

// Read reads from the socket fd into p (read(2); recv on Windows).
//
// Read and Write are the calls a loop handler makes on its non-blocking
// sockets, with the same results on every OS:
//
//   - n > 0, nil: data was read or written (Write may take only part of p;
//     write the rest when the fd is writable again).
//   - 0, ErrWouldBlock: nothing to read, or no room to write; wait for the
//     loop's next event. Compare with ==.
//   - 0, nil from Read (with len(p) > 0): the peer closed its side (EOF).
//   - 0, another error: the connection failed; close it. The error is the
//     bare errno (syscall.Errno: unix.ECONNRESET, windows.WSAECONNRESET...),
//     not wrapped, so that Read and Write never allocate on their busy
//     paths.
//
// EINTR is retried inside. A len(p) of 0 returns 0, nil without a call.
// An fd that cannot be one (negative, above 32 bits) returns the EBADF of
// the OS (windows.WSAENOTSOCK on Windows).
func Read(fd int, p []byte) (int, error) { return sockCall(sysRead, fd, p) }

// Write writes p to the socket fd (write(2); send on Windows), as much of
// it as the send buffer takes. It returns what Read does, except that it
// has no end of stream: a closed peer shows as an error.
func Write(fd int, p []byte) (int, error) { return sockCall(sysWrite, fd, p) }

// sockCall is Read and Write around the system call sys.
func sockCall(sys func(int, []byte) (int, error), fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if !validFd(fd) {
		return 0, errBadFd
	}
	for {
		n, err := sys(fd, p)
		if err == nil {
			return n, nil
		}
		if err == errIntr {
			continue
		}
		if err == errWouldBlock {
			return 0, ErrWouldBlock
		}
		return 0, err
	}
}
