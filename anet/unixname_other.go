//go:build unix && !linux

package anet

// abstractUnix: no abstract socket namespace here; '@' is an ordinary
// first character of a path.
const abstractUnix = false
