//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package anet

// Pending's ioctl on macOS and the BSDs: FIONREAD from <sys/filio.h>,
// _IOR('f', 127, int). golang.org/x/sys/unix does not export it there; the
// number is the same on all five (read direction 0x40000000, a 4-byte
// argument, group 'f', command 127).
const (
	fionread     = 0x4004667f
	fionreadName = "FIONREAD"
)
