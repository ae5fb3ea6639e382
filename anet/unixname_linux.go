//go:build linux

package anet

// abstractUnix: Linux has the abstract socket namespace, which
// golang.org/x/sys/unix writes with a leading '@' (and so decodes an
// unnamed socket as a lone "@").
const abstractUnix = true
