// Package anet is a stand-in with the signatures of the real anet that
// the check looks at.
package anet

import "time"

func KeepAlive(fd int, interval time.Duration) error { return nil }

func TCPConnectTimeout(addr string, timeout time.Duration) (int, error) { return 0, nil }
