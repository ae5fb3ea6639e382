//go:build unix

package main

import "golang.org/x/sys/unix"

// pair makes the two fds a round trip goes through, read end first, and
// names them: a pipe.
func pair() ([2]int, string, error) {
	var fds [2]int
	err := unix.Pipe(fds[:])
	return fds, "pipe", err
}
