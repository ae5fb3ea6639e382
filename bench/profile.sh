#!/usr/bin/env bash
# profile.sh — where a server's CPU goes per request, for several servers
# side by side under the same redis-benchmark load (perf record, software
# clock), so that a gap in bench/run.sh's CPU per request can be explained.
#
# Usage:
#   bench/profile.sh                      aeserver (epoll) and gnetping
#   bench/profile.sh NAME=command ...     other servers; {PORT} in the
#                                         command is replaced by its port
#   bench/profile.sh --help               print this text
#
# Each server runs alone, pinned to CPU $SERVER_CPU, and gets a warm-up of
# $WARMUP requests, then ROUNDS profiled redis-benchmark runs of $N requests
# ($CONFIG, test $TEST) on CPU $CLIENT_CPU; perf samples the server's
# threads with the cpu-clock software event for exactly the time of each
# run (perf record -p PID -- redis-benchmark ...), so samples ÷ frequency ÷
# requests is its CPU per request. Servers take turns within a round. The
# report splits that time: the kernel's part in read, write and the
# readiness wait (epoll_wait or epoll_pwait2, with what each calls), the
# rest of the kernel, the server's own code, and its top user functions.
#
# It needs perf (linux-perf) with perf_event_paranoid at most 1 (or root)
# and redis-benchmark. Built-in names: aeserver (cmd/aeserver, epoll, this
# tree), gnetping, nbioping, evioping, netpollping, stdlibping (bench/peers).
#
# Knobs (environment, defaults in brackets):
#   CONFIG ["-c 50 -P 1"]  TEST [set]  N [300000]  WARMUP [50000]  ROUNDS [3]
#   FREQ [4000] (samples a second)  SERVER_CPU [0]  CLIENT_CPU [1]
#   BASE_PORT [17400]  BUILD [/tmp/aemux-profile/bin]
#   OUT [/tmp/aemux-profile/run-YYYYmmdd-HHMMSS]
# Outputs in $OUT: NAME-ROUND.data (perf.data files, for perf report -i),
# summary.txt (what this prints), logs/.
set -uo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	sed -n '2,/^set -uo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
fi

cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-"-c 50 -P 1"}
TEST=${TEST:-set}
N=${N:-300000}
WARMUP=${WARMUP:-50000}
ROUNDS=${ROUNDS:-3}
FREQ=${FREQ:-4000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BASE_PORT=${BASE_PORT:-17400}
BUILD=${BUILD:-/tmp/aemux-profile/bin}
OUT=${OUT:-/tmp/aemux-profile/run-$(date -u +%Y%m%d-%H%M%S)}

die() { echo "profile.sh: $*" >&2; exit 1; }
for t in perf redis-benchmark taskset; do
	command -v $t >/dev/null || die "$t is not installed"
done
mkdir -p "$BUILD" "$OUT/logs" || die "cannot make $BUILD or $OUT"

names=() cmds=()
add() { names+=("$1"); cmds+=("$2"); }
if (($# == 0)); then
	set -- aeserver gnetping
fi
for arg in "$@"; do
	case $arg in
	*=*) add "${arg%%=*}" "${arg#*=}" ;;
	aeserver)
		go build -o "$BUILD/aeserver" ./cmd/aeserver >"$OUT/logs/build-aeserver.log" 2>&1 ||
			die "aeserver does not build: see $OUT/logs"
		add aeserver "$BUILD/aeserver -backend epoll -addr 127.0.0.1:{PORT}"
		;;
	gnetping | nbioping | evioping | netpollping | stdlibping)
		(cd "bench/peers/$arg" && go build -o "$BUILD/$arg" .) >"$OUT/logs/build-$arg.log" 2>&1 ||
			die "$arg does not build: see $OUT/logs"
		add "$arg" "$BUILD/$arg -addr 127.0.0.1:{PORT}"
		;;
	*) die "unknown server $arg (built-in: aeserver gnetping nbioping evioping netpollping stdlibping; others as NAME=command)" ;;
	esac
done

pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; }
trap cleanup EXIT

# profile INDEX ROUND: runs server INDEX alone and records one profiled run.
profile() {
	local i=$1 r=$2 port=$((BASE_PORT + $1)) name=${names[$1]}
	local cmd=${cmds[$1]//\{PORT\}/$port}
	taskset -c "$SERVER_CPU" sh -c "exec $cmd" >>"$OUT/logs/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	# shellcheck disable=SC2086 # CONFIG is words
	taskset -c "$CLIENT_CPU" redis-benchmark -h 127.0.0.1 -p "$port" -q -t "$TEST" -n "$WARMUP" $CONFIG >/dev/null 2>&1 ||
		die "$name: the warm-up failed (see $OUT/logs/$name.log)"
	# shellcheck disable=SC2086
	perf record -q -e cpu-clock -F "$FREQ" -g -p "$pid" -o "$OUT/$name-$r.data" -- \
		taskset -c "$CLIENT_CPU" redis-benchmark -h 127.0.0.1 -p "$port" -q -t "$TEST" -n "$N" $CONFIG \
		>>"$OUT/logs/bench.log" 2>&1 || die "$name: perf record or redis-benchmark failed (see $OUT/logs/bench.log)"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=
}

for r in $(seq "$ROUNDS"); do
	for i in "${!names[@]}"; do
		echo "round $r: ${names[$i]}"
		profile "$i" "$r"
	done
done

# samples FILE: the profile's sample count.
samples() {
	perf report -i "$1" -n --stdio --no-children --sort dso -g none 2>/dev/null |
		awk '/^ +[0-9.]+%/ { n += $2 } END { print n + 0 }'
}

# report NAME: the time split, summed over the rounds' profiles. Inclusive
# shares: ksys_read and ksys_write are the read and write system calls
# (on loopback, a write also runs the peer's receive path), do_epoll_wait
# the readiness wait of every epoll_wait flavour.
report() {
	local name=$1 f n
	for f in "$OUT/$name"-[0-9]*.data; do
		n=$(samples "$f")
		echo "total $n"
		perf report -i "$f" --stdio --children --sort sym -g none 2>/dev/null |
			awk -v n="$n" '/^ +[0-9.]+%/ && ($NF == "ksys_read" || $NF == "ksys_write" || $NF == "do_epoll_wait") {
				sub(/%/, "", $1); print "inc", $NF, $1 * n / 100 }'
		perf report -i "$f" -n --stdio --no-children --sort dso -g none 2>/dev/null |
			awk '/^ +[0-9.]+%/ { print "dso", ($3 == "[kernel.kallsyms]" ? "kernel" : "user"), $2 }'
		perf report -i "$f" -n --stdio --no-children --sort sym -g none 2>/dev/null |
			awk '/^ +[0-9.]+%/ && $3 == "[.]" { c = $2; $1 = $2 = $3 = ""; sub(/^ +/, ""); print "sym", c, $0 }'
	done >"$OUT/$name.lines"
	local reqs=$((N * ROUNDS))
	awk -v name="$name" -v freq="$FREQ" -v reqs="$reqs" '
		function us(x) { return x / freq / reqs * 1e6 }
		$1 == "total" { total += $2 }
		$1 == "inc" { inc[$2] += $3 }
		$1 == "dso" { dso[$2] += $3 }
		END {
			k = dso["kernel"]; r = inc["ksys_read"]; w = inc["ksys_write"]; e = inc["do_epoll_wait"]
			printf "%s: %.2f µs CPU per request (%d samples at %d Hz, %d requests)\n", name, us(total), total, freq, reqs
			printf "  kernel %.2f µs: read %.2f, write %.2f, readiness wait %.2f, the rest %.2f\n", us(k), us(r), us(w), us(e), us(k - r - w - e)
			printf "  user   %.2f µs; its top functions, µs per request:\n", us(dso["user"])
		}' "$OUT/$name.lines"
	awk '$1 == "sym" { c = $2; $1 = $2 = ""; sub(/^ +/, ""); gsub(/go\.shape\.struct \{[^}]*\}/, "T"); s[$0] += c }
		END { for (k in s) print s[k] "\t" k }' "$OUT/$name.lines" |
		sort -t "$(printf '\t')" -k1,1nr | head -12 |
		awk -F'\t' -v freq="$FREQ" -v reqs=$((N * ROUNDS)) '{ printf "    %6.3f  %s\n", $1 / freq / reqs * 1e6, $2 }'
}

{
	echo "# bench/profile.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))"
	echo "# redis-benchmark $CONFIG -t $TEST -n $N, $ROUNDS rounds; servers on CPU $SERVER_CPU, the client on CPU $CLIENT_CPU"
	for i in "${!names[@]}"; do
		echo "# ${names[$i]}: ${cmds[$i]}"
	done
	for name in "${names[@]}"; do
		report "$name"
	done
} | tee "$OUT/summary.txt"
