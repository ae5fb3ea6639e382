//go:build !linux

package main

// lowerTimerSlack does nothing: timer slack is a Linux setting.
func lowerTimerSlack() {}
