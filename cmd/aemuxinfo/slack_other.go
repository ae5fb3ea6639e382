//go:build !linux

package main

// lowSlack does nothing: timer slack is a Linux setting.
func lowSlack() bool { return false }
