package aeconn_test

const (
	reusePortSpreads = false
	unixSockets      = false
)
