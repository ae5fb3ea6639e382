package main

import (
	"testing"

	"peers/respcheck"
)

// TestReplies builds netpollping and runs the harness's reply checks on it.
func TestReplies(t *testing.T) {
	respcheck.Run(t, respcheck.Server{Command: []string{respcheck.GoBuild(t, "."), "-addr", "{ADDR}"}})
}
