//go:build unix

package mux

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// checkPollable refuses regular files and directories with ErrNotPollable
// and closed fds with EBADF; backends that would accept them call it when
// an fd is first registered.
func checkPollable(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return syscallErr("fstat", err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFDIR:
		return fmt.Errorf("%w: fd %d is a regular file or directory", ErrNotPollable, fd)
	}
	return nil
}
