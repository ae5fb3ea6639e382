package resp

import "strconv"

// Append* add one RESP2 reply to b and return the extended slice, as
// append does. They allocate only when b must grow.

// AppendSimple appends a status reply: "+<s>\r\n". s must not hold "\r" or "\n".
func AppendSimple(b []byte, s string) []byte {
	b = append(b, '+')
	b = append(b, s...)
	return append(b, '\r', '\n')
}

// AppendError appends an error reply: "-<msg>\r\n". Like Redis's
// addReplyError, a msg without an upper-case error code gets "ERR " in
// front, and line breaks in msg become spaces, so that the reply stays one
// line.
func AppendError(b []byte, msg string) []byte {
	b = append(b, '-')
	if !hasCode(msg) {
		b = append(b, "ERR "...)
	}
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}

// hasCode reports whether msg starts with an error code: an upper-case
// word followed by a space ("ERR ...", "WRONGTYPE ...").
func hasCode(msg string) bool {
	for i := 0; i < len(msg); i++ {
		c := msg[i]
		if c == ' ' {
			return i > 0
		}
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return false
}

// AppendInt appends an integer reply: ":<n>\r\n".
func AppendInt(b []byte, n int64) []byte {
	b = append(b, ':')
	b = strconv.AppendInt(b, n, 10)
	return append(b, '\r', '\n')
}

// AppendBulk appends a bulk string reply: "$<len>\r\n<v>\r\n".
func AppendBulk(b []byte, v []byte) []byte { return appendBulk(b, v) }

// AppendBulkString is AppendBulk for a string.
func AppendBulkString(b []byte, v string) []byte { return appendBulk(b, v) }

func appendBulk[T string | []byte](b []byte, v T) []byte {
	b = append(b, '$')
	b = strconv.AppendInt(b, int64(len(v)), 10)
	b = append(b, '\r', '\n')
	b = append(b, v...)
	return append(b, '\r', '\n')
}

// AppendNull appends the RESP2 null bulk string: "$-1\r\n".
func AppendNull(b []byte) []byte { return append(b, "$-1\r\n"...) }

// AppendNullArray appends the RESP2 null array: "*-1\r\n".
func AppendNullArray(b []byte) []byte { return append(b, "*-1\r\n"...) }

// AppendArray appends an array header for n elements: "*<n>\r\n".
func AppendArray(b []byte, n int) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}
