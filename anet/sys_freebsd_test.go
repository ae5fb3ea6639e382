package anet

import "golang.org/x/sys/unix"

// soReusePortLB is written as a number in sys_bsd.go, which builds on
// the BSDs that lack the constant; here it must equal x/sys's. The check
// is made when this file compiles (go vet with GOOS=freebsd does so):
// either conversion overflows unless the two are equal.
const _ = uint(soReusePortLB-unix.SO_REUSEPORT_LB) + uint(unix.SO_REUSEPORT_LB-soReusePortLB)
