//go:build unix

package anet

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// newSocket makes a non-blocking, close-on-exec stream socket of family.
func newSocket(what string, family int) (int, error) {
	fd, call, err := socket(family, unix.SOCK_STREAM)
	if err != nil {
		return -1, sysErr(what, call, err)
	}
	return fd, nil
}

// listenReuse sets a TCP listener's address sharing on unix: SO_REUSEADDR
// (so a restarted server can bind while old connections sit in TIME_WAIT),
// and with o.ReusePort SO_REUSEPORT (SO_REUSEPORT_LB on FreeBSD).
func listenReuse(what string, fd int, o ListenOptions) error {
	err := setIntOpt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR")
	if err == nil && o.ReusePort {
		err = setIntOpt(fd, unix.SOL_SOCKET, soReusePort, 1, soReusePortName)
	}
	return err
}

// UnixServer makes a Unix domain stream listener at path: non-blocking,
// close-on-exec, bound and listening. When perm is not 0 the socket file
// is chmod'ed to perm's permission bits before listen, so no client
// connects under the umask's mode.
//
// A file already at path is removed first only if it is a socket that
// nobody listens on any more (a stale socket left by a server that died):
// UnixServer tries to connect to it and removes it only when that is
// refused. A socket with a live listener, or any other kind of file, is
// left alone and UnixServer fails with an error matching unix.EADDRINUSE.
// (The probe is a real connection: a live server sees one client connect
// and close.) If listening fails after bind, the socket file is removed.
//
// ListenOptions.ReusePort and V6Only do not apply and are ignored.
func UnixServer(path string, perm os.FileMode, o ListenOptions) (int, error) {
	what := "listen unix " + path
	sa, err := parseUnix(path)
	if err != nil {
		return -1, err
	}
	file := !isAbstract(path)
	if file {
		if err := removeStale(what, path); err != nil {
			return -1, err
		}
	}
	fd, err := newSocket(what, unix.AF_UNIX)
	if err != nil {
		return -1, err
	}
	var chmod func() error
	if file && perm != 0 {
		chmod = func() error {
			return sysErr(what, "chmod", unix.Chmod(path, uint32(perm.Perm())))
		}
	}
	if err := bindListenWith(what, fd, sa, o.Backlog, chmod); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// bindListen binds fd to sa and listens with backlog (0 or less:
// DefaultBacklog).
func bindListen(what string, fd int, sa Sockaddr, backlog int) error {
	return bindListenWith(what, fd, sa, backlog, nil)
}

// bindListenWith is bindListen that runs between, if not nil, after bind
// and before listen. If anything after bind fails and sa is a Unix socket
// file, the file is removed.
func bindListenWith(what string, fd int, sa Sockaddr, backlog int, between func() error) error {
	if err := unix.Bind(fd, sa); err != nil {
		return sysErr(what, "bind", err)
	}
	var err error
	if between != nil {
		err = between()
	}
	if err == nil {
		err = sysErr(what, "listen", unix.Listen(fd, listenBacklog(backlog)))
	}
	if u, ok := sa.(*unix.SockaddrUnix); err != nil && ok && !isAbstract(u.Name) {
		os.Remove(u.Name)
	}
	return err
}

// removeStale removes a socket file at path that has no listener. It
// returns nil when path does not exist or was removed, and an error when
// something that must be kept is there.
func removeStale(what, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("anet: %s: %w", what, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("anet: %s: %s is in the way, not removed: %w", what, fileKind(fi.Mode()), unix.EADDRINUSE)
	}
	fd, err := UnixConnect(path)
	if err == nil {
		unix.Close(fd)
		return fmt.Errorf("anet: %s: a server is listening on it: %w", what, unix.EADDRINUSE)
	}
	if !errors.Is(err, unix.ECONNREFUSED) {
		// Cannot tell whether it is stale (no permission to connect, or a
		// full backlog: EAGAIN): keep it, and say why. Both errnos match.
		return fmt.Errorf("%w: the socket file may be live, not removed: %w", err, unix.EADDRINUSE)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("anet: %s: removing the stale socket: %w", what, err)
	}
	return nil
}

// fileKind names the kind of a file that is not a socket, for errors.
func fileKind(m os.FileMode) string {
	switch m.Type() {
	case 0:
		return "a regular file"
	case os.ModeDir:
		return "a directory"
	case os.ModeSymlink:
		return "a symbolic link"
	}
	return "a non-socket file"
}

// acceptLoop is Accept and AcceptAddr: it retries what is to be retried
// and wraps the rest. wantAddr false lets Linux skip decoding the address.
func acceptLoop(lfd int, wantAddr bool) (int, unix.Sockaddr, error) {
	if !validFd(lfd) {
		return -1, nil, fdErr("accept", lfd, acceptCall, unix.EBADF)
	}
	for {
		fd, sa, call, err := accept(lfd, wantAddr)
		switch err {
		case nil:
			return fd, sa, nil
		case unix.EAGAIN:
			return -1, nil, ErrWouldBlock
		case unix.EINTR, unix.ECONNABORTED:
			continue
		}
		return -1, nil, fdErr("accept", lfd, call, err)
	}
}

// UnixConnect starts a non-blocking connect to the Unix domain socket at
// path and returns the close-on-exec socket, as TCPConnect does. Unix
// connects normally complete at once; with the listener's backlog full,
// Linux fails with an error matching unix.EAGAIN rather than waiting.
func UnixConnect(path string) (int, error) {
	sa, err := parseUnix(path)
	if err != nil {
		return -1, err
	}
	return connect("connect unix "+path, unix.AF_UNIX, sa, nil)
}

// connect makes a socket of family, binds it to local when that is not
// nil, and starts connecting it to sa.
func connect(what string, family int, sa, local unix.Sockaddr) (int, error) {
	fd, err := newSocket(what, family)
	if err != nil {
		return -1, err
	}
	if local != nil {
		err = setIntOpt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR")
		if err == nil {
			err = sysErr(what, "bind", unix.Bind(fd, local))
		}
	}
	if err == nil {
		switch cerr := unix.Connect(fd, sa); cerr {
		case nil, unix.EINPROGRESS, unix.EINTR:
			// EINTR: the connect goes on in the background, as after
			// EINPROGRESS; writability and SO_ERROR tell the outcome.
		default:
			err = sysErr(what, "connect", cerr)
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}
