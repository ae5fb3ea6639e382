//go:build linux

package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWindowsServer drives the Windows build of aeserver, run under Wine,
// with Linux's redis-cli and redis-benchmark over 127.0.0.1: the redis-cli
// answers, the session compared with redis-server's, redis-cli --pipe,
// and redis-benchmark with 50 clients, unpipelined and 16 deep, with no
// errors. .ci/windows.sh builds aeserver.exe and runs this test with
// AEMUX_AESERVER_EXE (the binary) and WINE (the wine64 loader) set;
// without them it is skipped.
func TestWindowsServer(t *testing.T) {
	exe, wine := os.Getenv("AEMUX_AESERVER_EXE"), os.Getenv("WINE")
	if exe == "" || wine == "" {
		t.Skip("AEMUX_AESERVER_EXE and WINE are not set: .ci/windows.sh sets them to run aeserver.exe under Wine")
	}
	cli, bench := tool(t, "redis-cli"), tool(t, "redis-benchmark")
	redisAddr := startRedis(t)

	// A bad flag is refused with a clear message and exit status 2.
	out, err := exec.Command(wine, exe, "-loops", "0").CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	assert.Equal(t, 2, exit.ExitCode(), "%s", out)
	assert.Contains(t, string(out), "-loops 0: want 1 to 256")

	// Two loops: the first accepts and hands every other connection to
	// the second (Windows has no SO_REUSEPORT to spread them).
	port := strconv.Itoa(freePort(t))
	addr := "127.0.0.1:" + port
	cmd := exec.Command(wine, exe, "-addr", addr, "-maxclients", "1000", "-loops", "2") // as the in-process tests
	var logs safeBuffer
	cmd.Stderr = &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		t.Logf("aeserver.exe: %s", strings.TrimSpace(logs.String()))
	})
	waitListening(t, "tcp", addr)

	t.Run("redis-cli", func(t *testing.T) { checkRedisCli(t, cli, port, "iocp") })
	t.Run("same-replies", func(t *testing.T) { checkSameReplies(t, redisAddr, addr) })
	t.Run("pipe", func(t *testing.T) {
		require.Equal(t, "OK", dial(t, addr).do("FLUSHALL").Str)
		checkCliPipe(t, cli, addr, 20_000)
	})
	// Unpipelined requests are slow under Wine (about 5000 a second on 2
	// cores): fewer of them.
	for _, b := range []struct{ pipeline, n int }{{1, 5_000}, {16, 20_000}} {
		t.Run("benchmark-P"+strconv.Itoa(b.pipeline), func(t *testing.T) {
			const tests = 5
			n := b.n
			before := commandsProcessed(t, addr)
			start := time.Now()
			out, err := exec.Command(bench, "-h", "127.0.0.1", "-p", port, "-c", "50", "-P", strconv.Itoa(b.pipeline),
				"-n", strconv.Itoa(n), "-t", "set,get,incr,lpush,lpop", "-q").CombinedOutput()
			require.NoError(t, err, "%s", out)
			results := benchResult.FindAllString(string(out), -1)
			require.Len(t, results, tests, "%s", out)
			for _, r := range results {
				t.Log(r)
			}
			assert.NotContains(t, strings.ToLower(string(out)), "error", "%s", out)
			// Every request was answered: the server counted them all.
			assert.GreaterOrEqual(t, commandsProcessed(t, addr)-before, int64(tests*n))
			t.Logf("%d requests in %v", tests*n, time.Since(start).Round(time.Millisecond))
		})
	}
	assert.Contains(t, dial(t, addr).do("INFO", "server").Str, "event_loops:2\r\n")
}

// benchResult is a redis-benchmark -q result line.
var benchResult = regexp.MustCompile(`[A-Z]+: [0-9.]+ requests per second`)

// commandsProcessed reads total_commands_processed from INFO stats.
func commandsProcessed(t *testing.T, addr string) int64 {
	t.Helper()
	info := dial(t, addr).do("INFO", "stats").Str
	m := regexp.MustCompile(`total_commands_processed:(\d+)`).FindStringSubmatch(info)
	require.NotNil(t, m, "%s", info)
	n, err := strconv.ParseInt(m[1], 10, 64)
	require.NoError(t, err)
	return n
}
