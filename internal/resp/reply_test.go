package resp_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/internal/resp"
	"github.com/aemux/mux/internal/resp/resptest"
)

// TestReplies writes every kind of reply and reads them back with
// resptest.ParseReply, a client's parser.
func TestReplies(t *testing.T) {
	var b []byte
	b = resp.AppendSimple(b, "OK")
	b = resp.AppendError(b, "bad\r\nthing")
	b = resp.AppendError(b, "WRONGTYPE Operation")
	b = resp.AppendInt(b, -42)
	b = resp.AppendBulk(b, []byte("a\r\nb"))
	b = resp.AppendNull(b)
	b = resp.AppendArray(b, 2)
	b = resp.AppendBulkString(b, "7")
	b = resp.AppendNullArray(b)
	assert.Equal(t, "+OK\r\n-ERR bad  thing\r\n-WRONGTYPE Operation\r\n:-42\r\n$4\r\na\r\nb\r\n$-1\r\n*2\r\n$1\r\n7\r\n*-1\r\n", string(b))

	var got []resptest.Reply
	for len(b) > 0 {
		r, n, err := resptest.ParseReply(b)
		require.NoError(t, err)
		require.NotZero(t, n)
		got = append(got, r)
		b = b[n:]
	}
	require.Len(t, got, 7)
	assert.Equal(t, "OK", got[0].Str)
	assert.Equal(t, byte('-'), got[1].Kind)
	assert.Equal(t, int64(-42), got[3].Int)
	assert.Equal(t, "a\r\nb", got[4].Str)
	assert.True(t, got[5].Null)
	assert.Equal(t, "7\n", got[6].String())

	_, n, err := resptest.ParseReply([]byte("$5\r\nab"))
	assert.NoError(t, err)
	assert.Zero(t, n, "incomplete")
	_, _, err = resptest.ParseReply([]byte("?x\r\n"))
	assert.Error(t, err)
	assert.False(t, errors.Is(err, resp.ErrProtocol))
}
