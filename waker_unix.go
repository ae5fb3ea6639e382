//go:build unix

package mux

import "golang.org/x/sys/unix"

// writeWake is the wake of both wakers (eventfd and pipe): it writes b to
// fd, retrying EINTR. EAGAIN is success: the eventfd's counter or the
// pipe is full, so fd is readable already.
func writeWake(fd int, b []byte) error {
	for {
		_, err := unix.Write(fd, b)
		switch err {
		case nil, unix.EAGAIN:
			return nil
		case unix.EINTR:
			continue
		}
		return syscallErr("write", err)
	}
}
