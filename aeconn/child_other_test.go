//go:build !linux

package aeconn_test

// runChild: the child processes of the tests run on Linux only.
func runChild() {}
