package main

import (
	"bytes"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/internal/resp/resptest"
)

// session is one redis-cli-like session: each line a command, split on
// spaces ("_" stands for a space inside an argument). A line starting with
// "~" compares the reply's elements as a set (SPOP's order is random).
const session = `
FLUSHALL
PING
PING hello
PING a b
ECHO hi
ECHO
SET k v
GET k
GET nosuch
SET k v2 NX
SET k v3 XX
GET k
SET nk v XX
SET n 10 EX 100
TTL n
SET k v EX 0
SET k v PX -5
SET k v EX abc
SET k v EX
SET k v NX XX
SET k v KEEPTTL EX 10
SET k v BOGUS
SET k v GET
SET newk v GET
SET newk w NX GET
SET
SET k
INCR n
INCR k
INCRBY n 5
INCRBY n abc
DECR n
DECRBY n 3
DECRBY n -9223372036854775808
SET big 9223372036854775807
INCR big
SET small -9223372036854775808
DECR small
SET spaced _7
INCR spaced
INCR fresh
DEL k n nosuch
DEL
EXISTS k n2 big big nosuch
MSET a 1 b 2 c 3
MSET a
MSET a 1 b
MGET a b nosuch c
MGET
EXPIRE a 100
TTL a
EXPIRE a 100 NX
EXPIRE a 200 XX
EXPIRE a 50 GT
EXPIRE a 50 LT
TTL a
EXPIRE b 10 GT
EXPIRE b 10 XX
EXPIRE nosuch 10
EXPIRE a abc
EXPIRE a 10 bogus
EXPIRE a 10 NX XX
EXPIRE a 10 GT LT
EXPIRE a 9223372036854775807
EXPIRE a -1
EXISTS a
TTL nosuch
TTL b
TTL
DBSIZE
LPUSH l a b c
RPUSH l d e
LRANGE l 0 -1
LRANGE l 1 2
LRANGE l -2 -1
LRANGE l -100 100
LRANGE l 5 10
LRANGE l 3 1
LRANGE nosuch 0 -1
LRANGE l a b
LPOP l
RPOP l
LPOP l 2
LPOP l 0
LPOP l -1
LPOP l x
LPOP l 1 2
LPOP nosuch
LPOP nosuch 3
LPOP nosuch 0
RPOP l 10
EXISTS l
LPUSH b x
RPUSH l
LPOP b
LRANGE b 0 1
SADD s a b c a
SADD s d
SADD b x
SPOP nosuch
SPOP nosuch 2
~SPOP s 10
EXISTS s
SADD s a b
SPOP s 0
SPOP s -1
SPOP s x
SPOP s 1 2
SPOP b
HSET h f1 v1 f2 v2
HSET h f1 v3
HSET h f1
HSET h f1 v f2
HGET h f1
HGET h f2
HGET h nosuch
HGET nosuch f
HGET b f
HSET b f v
GET h
CONFIG GET save
CONFIG GET appendonly
CONFIG GET databases
CONFIG GET nomatch*
CONFIG
CONFIG GET
CONFIG foo
CONFIG foo bar
CLIENT GETNAME
CLIENT SETNAME myname
CLIENT GETNAME
CLIENT SETNAME a_b
CLIENT SETNAME
CLIENT foo
CLIENT
SELECT 0
SELECT 1
SELECT -1
SELECT abc
SELECT 99999999999
FOOBAR
FOOBAR a b
foobar a_b c
COMMAND foo
DBSIZE
FLUSHALL ASYNC
FLUSHALL SYNC
FLUSHALL bogus
FLUSHALL a b
DBSIZE
QUIT
`

func sessionLines() [][]string {
	var cmds [][]string
	for _, line := range strings.Split(strings.TrimSpace(session), "\n") {
		var args []string
		for _, f := range strings.Fields(line) {
			args = append(args, strings.ReplaceAll(f, "_", " "))
		}
		cmds = append(cmds, args)
	}
	return cmds
}

// Every command answers as redis-server 7 does for the same session: the
// replies of both servers, compared byte for byte.
func TestSameRepliesAsRedis(t *testing.T) {
	redisAddr := startRedis(t)
	eachBackend(t, func(t *testing.T, backend string) {
		ts := startServer(t, func(c *config) { c.backend = backend })
		checkSameReplies(t, redisAddr, ts.addr)
	})
}

// checkSameReplies runs the session on redis-server at redisAddr and on an
// aeserver at addr and compares the replies.
func checkSameReplies(t *testing.T, redisAddr, addr string) {
	want, got := dial(t, redisAddr), dial(t, addr)
	for _, args := range sessionLines() {
		set := strings.HasPrefix(args[0], "~")
		args[0] = strings.TrimPrefix(args[0], "~")
		w, g := want.doRaw(args...), got.doRaw(args...)
		if set {
			w, g = sortedElems(t, w), sortedElems(t, g)
		}
		assert.Equal(t, w, g, "%q", args)
	}
	assert.True(t, want.closedByPeer(5*time.Second), "redis-server closes after QUIT")
	assert.True(t, got.closedByPeer(5*time.Second), "aeserver closes after QUIT")
}

func sortedElems(t *testing.T, raw string) string {
	r, _, err := resptest.ParseReply([]byte(raw))
	require.NoError(t, err)
	var s []string
	for _, e := range r.Elems {
		s = append(s, e.Str)
	}
	slices.Sort(s)
	return fmt.Sprint(s)
}

// The same pipelined bytes, inline and multibulk mixed and split at odd
// places, get the same bytes back from both servers.
func TestSamePipelineAsRedis(t *testing.T) {
	redisAddr := startRedis(t)
	ts := startServer(t, nil)
	var in []byte
	for i := range 300 {
		k := "key" + strconv.Itoa(i%17)
		switch i % 5 {
		case 0:
			in = resptest.AppendCommand(in, "SET", k, strings.Repeat("v", i))
		case 1:
			in = append(in, "GET "+k+"\r\n"...)
		case 2:
			in = resptest.AppendCommand(in, "INCR", "ctr")
		case 3:
			in = append(in, "RPUSH list \"a b\" 'c'\n"...)
		case 4:
			in = resptest.AppendCommand(in, "LRANGE", "list", "0", "2")
		}
	}
	run := func(addr string) []byte {
		c := dial(t, addr)
		c.send([]byte("FLUSHALL\r\n"))
		c.readRaw()
		for i := 0; i < len(in); i += 97 { // odd-sized pieces
			c.send(in[i:min(i+97, len(in))])
		}
		var out []byte
		for range 300 {
			out = append(out, c.readRaw()...)
		}
		return out
	}
	assert.Equal(t, string(run(redisAddr)), string(run(ts.addr)))
}

// redis-cli, the real client, gets the values it should.
func TestRedisCli(t *testing.T) {
	cli := tool(t, "redis-cli")
	ts := startServer(t, nil)
	checkRedisCli(t, cli, strconv.Itoa(ts.s.port), ts.s.loops[0].l.ApiName())
}

// checkRedisCli runs redis-cli (cli) against the aeserver on 127.0.0.1:port,
// whose backend is api, and checks every answer.
func checkRedisCli(t *testing.T, cli, port, api string) {
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", port}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		return strings.TrimRight(string(out), "\n")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "PONG"},
		{[]string{"ECHO", "hello world"}, "hello world"},
		{[]string{"SET", "k", "v", "EX", "100"}, "OK"},
		{[]string{"GET", "k"}, "v"},
		{[]string{"TTL", "k"}, "100"},
		{[]string{"SET", "k", "w", "NX"}, ""},
		{[]string{"SET", "k", "w", "XX"}, "OK"},
		{[]string{"MSET", "a", "1", "b", "2"}, "OK"},
		{[]string{"MGET", "a", "b", "nosuch"}, "1\n2"}, // the nil is an empty last line
		{[]string{"INCR", "a"}, "2"},
		{[]string{"INCRBY", "a", "40"}, "42"},
		{[]string{"DECR", "a"}, "41"},
		{[]string{"EXISTS", "a", "b", "nosuch"}, "2"},
		{[]string{"DEL", "a", "b"}, "2"},
		{[]string{"EXPIRE", "k", "50"}, "1"},
		{[]string{"TTL", "k"}, "50"},
		{[]string{"DBSIZE"}, "1"},
		{[]string{"RPUSH", "l", "x", "y", "z"}, "3"},
		{[]string{"LPUSH", "l", "w"}, "4"},
		{[]string{"LRANGE", "l", "0", "-1"}, "w\nx\ny\nz"},
		{[]string{"LPOP", "l"}, "w"},
		{[]string{"RPOP", "l"}, "z"},
		{[]string{"SADD", "s", "m"}, "1"},
		{[]string{"SPOP", "s"}, "m"},
		{[]string{"HSET", "h", "f", "v"}, "1"},
		{[]string{"HGET", "h", "f"}, "v"},
		{[]string{"CONFIG", "GET", "maxclients"}, "maxclients\n1000"},
		{[]string{"CLIENT", "SETNAME", "me"}, "OK"},
		{[]string{"SELECT", "0"}, "OK"},
		{[]string{"FLUSHALL"}, "OK"},
		{[]string{"DBSIZE"}, "0"},
		{[]string{"NOSUCHCMD"}, "ERR unknown command 'NOSUCHCMD', with args beginning with: "},
	} {
		assert.Equal(t, c.want, run(c.args...), "%q", c.args)
	}
	info := run("INFO")
	for _, want := range []string{"# Server", "# Clients", "# Stats", "redis_version:", "connected_clients:1",
		"total_commands_processed:", "multiplexing_api:" + api} {
		assert.Contains(t, info, want)
	}
	assert.NotContains(t, run("INFO", "server"), "# Clients")
	assert.Contains(t, run("COMMAND", "COUNT"), strconv.Itoa(len(commands)))
	assert.Contains(t, run("COMMAND", "INFO", "get"), "readonly")
	assert.Equal(t, "OK", run("QUIT"))
}

// redis-cli --pipe, the mass-insert mode, gets every reply.
func TestRedisCliPipe(t *testing.T) {
	cli := tool(t, "redis-cli")
	ts := startServer(t, nil)
	checkCliPipe(t, cli, ts.addr, 100_000)
}

// checkCliPipe sends n SETs with redis-cli --pipe to the aeserver at addr
// (127.0.0.1:port) and checks the replies and the keys.
func checkCliPipe(t *testing.T, cli, addr string, n int) {
	var in bytes.Buffer
	for i := range n {
		in.Write(resptest.AppendCommand(nil, "SET", "key:"+strconv.Itoa(i), "value:"+strconv.Itoa(i)))
	}
	_, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)
	cmd := exec.Command(cli, "-h", "127.0.0.1", "-p", port, "--pipe")
	cmd.Stdin = &in
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), fmt.Sprintf("errors: 0, replies: %d", n))
	c := dial(t, addr)
	assert.Equal(t, int64(n), c.do("DBSIZE").Int)
	assert.Equal(t, "value:4242", c.do("GET", "key:4242").Str)
}
