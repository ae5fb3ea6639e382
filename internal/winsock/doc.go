// Package winsock holds the few Winsock calls that golang.org/x/sys/windows
// does not wrap and that several aemux packages make on Windows: starting
// Winsock once for the process, ioctlsocket (FIONBIO, FIONREAD), accept
// without the overlapped machinery, and GetHandleInformation. The root
// package's WaitFd, anet and the test helpers in internal/fdtest and tests
// all use these, so each call is declared once. On other systems the
// package is empty.
package winsock
