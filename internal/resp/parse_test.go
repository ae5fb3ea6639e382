package resp

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// parseAll parses every request in buf, as a server does with one read.
// It returns the requests, the bytes left unparsed and the error, if any.
func parseAll(p *Parser, buf []byte) (reqs [][]string, rest int, err error) {
	pos := 0
	for pos < len(buf) {
		argv, n, err := p.Next(buf[pos:])
		if err != nil {
			return reqs, len(buf) - pos, err
		}
		if n == 0 {
			break
		}
		pos += n
		if len(argv) > 0 {
			req := make([]string, len(argv))
			for i, a := range argv {
				req[i] = string(a)
			}
			reqs = append(reqs, req)
		}
	}
	return reqs, len(buf) - pos, nil
}

// The cases were checked against redis-server 7.0.15 with the same bytes.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want [][]string
		err  string // the Protocol error text, "" for none
	}{
		{in: "PING\r\n", want: [][]string{{"PING"}}},
		{in: "PING\n", want: [][]string{{"PING"}}},
		{in: "*1\r\n$4\r\nPING\r\n", want: [][]string{{"PING"}}},
		{in: "\r\n  \r\nPING\r\n", want: [][]string{{"PING"}}},
		{in: "*0\r\nPING\r\n*-1\r\nPING\r\n", want: [][]string{{"PING"}, {"PING"}}},
		{in: "SET k \"a b\" 'c d'\r\n", want: [][]string{{"SET", "k", "a b", "c d"}}},
		{in: "ECHO \"a\\x41\\n\\t\\\\\\\"\"\r\n", want: [][]string{{"ECHO", "aA\n\t\\\""}}},
		{in: "ECHO 'it\\'s'\r\n", want: [][]string{{"ECHO", "it's"}}},
		{in: "ECHO a\"b c\"d\r\n", err: "unbalanced quotes in request"},
		{in: "ECHO a\"b c\" d\r\n", want: [][]string{{"ECHO", "ab c", "d"}}},
		{in: "ECHO \"abc\r\n", err: "unbalanced quotes in request"},
		{in: "ECHO \"a\"b\r\n", err: "unbalanced quotes in request"},
		{in: "ECHO 'a\r\n", err: "unbalanced quotes in request"},
		{in: "*2\r\n$4\r\nECHO\r\n$3\r\nabcXYPING\r\n", want: [][]string{{"ECHO", "abc"}, {"PING"}}},
		{in: "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", want: [][]string{{"ECHO", ""}}},
		{in: "*1\r\n%4\r\nPING\r\n", err: "expected '$', got '%'"},
		{in: "*abc\r\n", err: "invalid multibulk length"},
		{in: "*3000000000\r\n", err: "invalid multibulk length"},
		{in: "*+1\r\n", err: "invalid multibulk length"},
		{in: "*01\r\n", err: "invalid multibulk length"},
		{in: "*1\r\n$-5\r\n", err: "invalid bulk length"},
		{in: "*1\r\n$-0\r\n", err: "invalid bulk length"},
		{in: "*2\r\n$4\r\nECHO\r\n$600000000\r\n", err: "invalid bulk length"},
		{in: "*1\r\n$\r\n", err: "invalid bulk length"},
		{in: "*1\r\n$01\r\nP\r\n", err: "invalid bulk length"},
		{in: "*1\r\n$1\rXP\r\n", want: [][]string{{"P"}}}, // the byte after '\r' is not checked
		{in: "*2\r\n$1\r\nP\r\n*1\r\n$1\r\nQ\r\n", err: "expected '$', got '*'"},
		{in: "*1\r\n$000000000000000000001\r\nP\r\n", err: "invalid bulk length"},
		{in: "*1\r\n$99999999999999999999\r\nP\r\n", err: "invalid bulk length"},
		{in: "*1\r\n$999999999999999999\r\nP\r\n", err: "invalid bulk length"},
		{in: manyArgs(wholeMaxArgs), want: [][]string{manyArgsWant(wholeMaxArgs)}},
		{in: manyArgs(wholeMaxArgs + 1), want: [][]string{manyArgsWant(wholeMaxArgs + 1)}},
	} {
		t.Run(fmt.Sprintf("%q", c.in), func(t *testing.T) {
			var p Parser
			reqs, _, err := parseAll(&p, []byte(c.in))
			if c.err != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrProtocol)
				assert.Equal(t, "Protocol error: "+c.err, err.Error())
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, reqs)
		})
	}
}

// manyArgs is an ECHO request of n arguments "0", "1", ...; manyArgsWant
// is what it parses into.
func manyArgs(n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", n)
	for _, a := range manyArgsWant(n) {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	return b.String()
}

func manyArgsWant(n int) []string {
	argv := []string{"ECHO"}
	for i := 1; i < n; i++ {
		argv = append(argv, fmt.Sprint(i))
	}
	return argv
}

// Incomplete input asks for more, and the same requests come out whether the
// bytes arrive at once or one at a time.
func TestParseIncremental(t *testing.T) {
	in := []byte("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\nGET k\r\n*1\r\n$4\r\nPING\r\n")
	var whole Parser
	want, rest, err := parseAll(&whole, in)
	require.NoError(t, err)
	require.Zero(t, rest)
	require.Len(t, want, 3)

	var p Parser
	var got [][]string
	buf := []byte{}
	for _, b := range in {
		buf = append(buf, b)
		reqs, rest, err := parseAll(&p, buf)
		require.NoError(t, err)
		got = append(got, reqs...)
		buf = append(buf[:0], buf[len(buf)-rest:]...) // keep the incomplete tail, moved to the front
	}
	assert.Equal(t, want, got)
	assert.Empty(t, buf)
}

func TestParseNeed(t *testing.T) {
	var p Parser
	buf := []byte("*2\r\n$4\r\nECHO\r\n$100\r\nabc")
	argv, n, err := p.Next(buf)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Nil(t, argv)
	assert.Equal(t, 97+2, p.Need(buf), "the rest of the bulk and its CRLF")
	buf = append(buf, strings.Repeat("x", 97)+"\r\n"...)
	argv, n, err = p.Next(buf)
	require.NoError(t, err)
	assert.Equal(t, len(buf), n)
	assert.Len(t, argv[1], 100)
	assert.Equal(t, 1, p.Need(nil), "between requests")
}

func TestParseLimits(t *testing.T) {
	t.Run("MaxBulk", func(t *testing.T) {
		p := Parser{MaxBulk: 10}
		_, _, err := p.Next([]byte("*1\r\n$10\r\n0123456789\r\n"))
		require.NoError(t, err)
		_, _, err = p.Next([]byte("*1\r\n$11\r\n"))
		assert.EqualError(t, err, "Protocol error: invalid bulk length")
	})
	t.Run("InlineTooBig", func(t *testing.T) {
		var p Parser
		_, n, err := p.Next(bytes.Repeat([]byte("a"), MaxInline))
		require.NoError(t, err, "at the limit: still waiting for the newline")
		require.Zero(t, n)
		_, _, err = p.Next(bytes.Repeat([]byte("a"), MaxInline+1))
		assert.EqualError(t, err, "Protocol error: too big inline request")
	})
	t.Run("CountTooBig", func(t *testing.T) {
		var p Parser
		_, _, err := p.Next(append([]byte("*"), bytes.Repeat([]byte("1"), MaxInline+1)...))
		assert.EqualError(t, err, "Protocol error: too big mbulk count string")
		p.Reset()
		_, _, err = p.Next(append([]byte("*1\r\n$"), bytes.Repeat([]byte("1"), MaxInline+1)...))
		assert.EqualError(t, err, "Protocol error: too big bulk count string")
	})
}

func TestParseInt(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1": 1, "-1": -1, "9223372036854775807": 1<<63 - 1, "-9223372036854775808": -1 << 63} {
		v, ok := ParseInt([]byte(in))
		assert.True(t, ok, in)
		assert.Equal(t, want, v, in)
	}
	for _, in := range []string{"", "-", "+1", "01", "-0", " 1", "1 ", "1a", "9223372036854775808", "-9223372036854775809", "99999999999999999999"} {
		_, ok := ParseInt([]byte(in))
		assert.False(t, ok, "%q", in)
	}
}

// A complete request parses without allocating once the Parser's buffers
// have grown.
func TestParseAllocs(t *testing.T) {
	var p Parser
	reqs := [][]byte{
		[]byte("*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n"),
		[]byte("PING\r\n"),
		[]byte("ECHO \"a b\"\r\n"),
	}
	for _, r := range reqs {
		_, _, err := p.Next(r)
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, r := range reqs {
			p.Next(r)
		}
	})
	assert.Zero(t, allocs)
}

// FuzzParser feeds arbitrary bytes to the Parser, whole and in random-sized
// pieces: it must never panic, never return an argument longer than
// MaxBulk or consume more than it was given, and must produce the same
// requests (and the same error) however the input is split. (Inline
// arguments are bounded by MaxInline instead of MaxBulk.)
//
//	go test -run '^$' -fuzz FuzzParser -fuzztime 20s ./internal/resp
func FuzzParser(f *testing.F) {
	for _, s := range []string{
		"PING\r\n", "*1\r\n$4\r\nPING\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
		"SET k \"a\\x41\" 'b\\'c'\r\n", "*2\r\n$4\r\nECHO\r\n$20\r\n0123", "*-1\r\n*0\r\n\r\n",
		"*1\r\n%4\r\n", "ECHO \"abc\r\n", "*1\r\n$99999999999\r\n",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		const maxBulk = 1 << 10
		whole := Parser{MaxBulk: maxBulk}
		want, wantRest, wantErr := parseAll(&whole, in)
		for _, r := range want {
			for _, a := range r {
				if len(a) > max(maxBulk, MaxInline) {
					t.Fatalf("argument of %d bytes, over MaxBulk and MaxInline", len(a))
				}
			}
		}
		if wantRest < 0 || wantRest > len(in) {
			t.Fatalf("consumed more than given: rest %d of %d", wantRest, len(in))
		}
		// The same bytes in pieces of 1 + step%16 bytes.
		piece := 1 + int(step%16)
		p := Parser{MaxBulk: maxBulk}
		var got [][]string
		var gotErr error
		buf := []byte{}
		for i := 0; i < len(in) && gotErr == nil; i += piece {
			buf = append(buf, in[i:min(i+piece, len(in))]...)
			var reqs [][]string
			var rest int
			reqs, rest, gotErr = parseAll(&p, buf)
			got = append(got, reqs...)
			buf = append(buf[:0], buf[len(buf)-rest:]...)
		}
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Fatalf("whole: %v, in pieces of %d: %v", wantErr, piece, gotErr)
		}
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("whole: %q\npieces of %d: %q", want, piece, got)
		}
	})
}

// BenchmarkParsePipeline parses 16 pipelined requests of redis-benchmark's
// SET and GET tests, as one read of a -P 16 client brings them.
func BenchmarkParsePipeline(b *testing.B) {
	for _, bc := range []struct{ name, req string }{
		{"SET", "*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n"},
		{"GET", "*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n"},
		{"PING_INLINE", "PING\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := []byte(strings.Repeat(bc.req, 16))
			var p Parser
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				reqs, rest := 0, len(buf)
				for pos := 0; pos < len(buf); {
					argv, n, err := p.Next(buf[pos:])
					if err != nil || n == 0 {
						b.Fatalf("at %d: n=%d err=%v", pos, n, err)
					}
					pos, rest = pos+n, rest-n
					reqs += min(len(argv), 1)
				}
				if reqs != 16 || rest != 0 {
					b.Fatalf("%d requests, %d bytes left", reqs, rest)
				}
			}
		})
	}
}

// More than MaxMultibulk arguments is refused before any is read; the
// Parser's footprint follows the arguments that arrived, not the count
// announced, and Shrink gives a large list back between requests.
func TestMultibulkCountAndFootprint(t *testing.T) {
	var p Parser
	_, _, err := p.Next([]byte("*1048577\r\n"))
	require.ErrorIs(t, err, ErrProtocol)
	require.EqualError(t, err, "Protocol error: invalid multibulk length")

	p = Parser{}
	_, n, err := p.Next([]byte("*1048576\r\n$0\r\n\r\n"))
	require.NoError(t, err)
	require.Zero(t, n)
	assert.Less(t, p.Footprint(), 1<<10, "one argument parsed, yet the list is sized for the count announced")
	p.Reset()

	in := "*50000\r\n" + strings.Repeat("$0\r\n\r\n", 50_000)
	argv, n, err := p.Next([]byte(in))
	require.NoError(t, err)
	require.Equal(t, len(in), n)
	require.Len(t, argv, 50_000)
	assert.GreaterOrEqual(t, p.Footprint(), 50_000*16)
	p.Shrink(32 << 10)
	assert.Zero(t, p.Footprint())
	argv, _, err = p.Next([]byte("*1\r\n$4\r\nPING\r\n"))
	require.NoError(t, err)
	assert.Equal(t, "PING", string(argv[0]))
}
