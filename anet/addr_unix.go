//go:build unix

package anet

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// maxUnixPath is the longest Unix socket path anet accepts: sun_path less
// one byte for the terminating NUL (103 bytes on darwin and the BSDs, 107
// on Linux).
const maxUnixPath = len(unix.RawSockaddrUnix{}.Path) - 1

// parseUnix checks a Unix socket path and makes its sockaddr.
func parseUnix(path string) (unix.Sockaddr, error) {
	switch {
	case path == "":
		return nil, addrErr(path, "empty Unix socket path")
	case strings.IndexByte(path, 0) >= 0:
		return nil, addrErr(path, "NUL byte in Unix socket path")
	case len(path) > maxUnixPath:
		return nil, addrErr(path, "Unix socket path longer than "+strconv.Itoa(maxUnixPath)+" bytes")
	case isAbstract(path) && len(path) == 1:
		return nil, addrErr(path, "empty abstract socket name")
	}
	return &unix.SockaddrUnix{Name: path}, nil
}

// isAbstract reports whether a Unix socket path names Linux's abstract
// namespace, where there is no file to remove or chmod.
func isAbstract(path string) bool {
	return abstractUnix && len(path) > 0 && path[0] == '@'
}

// formatOther is FormatAddr for a Unix socket address: its path, "" for an
// unnamed one; other address types give "".
func formatOther(sa Sockaddr) string {
	if sa, ok := sa.(*unix.SockaddrUnix); ok && !(abstractUnix && sa.Name == "@") {
		return sa.Name
	}
	return ""
}
