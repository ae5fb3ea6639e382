package main

import "github.com/aemux/mux/anet"

// wrk's net.c: the plain-socket sock functions (ssl.c's are not ported).

// status is what a sock function tells its caller.
type status int

const (
	OK status = iota
	ERROR
	RETRY
)

func sock_connect(c *connection, host string) status { return OK }

func sock_close(c *connection) status { return OK }

// sock_read reads into c.buf. As in wrk, any failure is an ERROR,
// anet.ErrWouldBlock (EAGAIN) included: socket_readable only reads when the socket is readable.
func sock_read(c *connection, n *int) status {
	r, err := anet.Read(c.fd, c.buf[:])
	if err != nil {
		return ERROR
	}
	*n = r
	return OK
}

func sock_write(c *connection, buf []byte, n *int) status {
	r, err := anet.Write(c.fd, buf)
	switch {
	case err == anet.ErrWouldBlock:
		return RETRY
	case err != nil:
		return ERROR
	}
	*n = r
	return OK
}

// sock_readable is the number of bytes waiting to be read (FIONREAD in
// wrk, anet.Pending here), 0 if that cannot be told.
func sock_readable(c *connection) int {
	n, err := anet.Pending(c.fd)
	if err != nil {
		return 0
	}
	return n
}
