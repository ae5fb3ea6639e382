#!/usr/bin/env bash
# http.sh — Debian's wrk against examples/aehttp, a net/http server
# (bench/peers/nethttp) and a gnet v2 server (bench/peers/gnethttp), side by
# side, in interleaved rounds, on 127.0.0.1 only: TechEmpower's plaintext
# (and json) tests.
#
# Usage:
#   bench/http.sh            run the benchmark
#   bench/http.sh --help     print this text
#
# Each server is built once into $BUILD and runs for the whole run, pinned to
# CPU $SERVER_CPU (taskset; Go then runs with GOMAXPROCS=1), wrk to
# $CLIENT_CPU. After a warm-up, each round goes through the paths and the
# connection counts, and for each measures every server right after the other
# (the order of the servers turns by one each round), so that they see the
# same machine within a round. A measurement is one wrk invocation of
# $DURATION; around it the server's user+sys CPU time is read from
# /proc/PID/stat, so CPU per request is that time over the requests wrk
# counted. A measurement with socket errors or non-2xx answers is reported
# as such in results.csv (column errors), and the summary counts them.
#
# Knobs (environment, defaults in brackets):
#   ROUNDS [5]  DURATION [10s]  WARMUP [3s]  CONNS ["50 500"]  PATHS ["/plaintext"]
#   PIPELINE [1]: requests wrk sends at once on a conn (TechEmpower's plaintext
#   test uses 16), by a Lua script written into $OUT
#   THREADS [1]: wrk's threads (all on $CLIENT_CPU)
#   SERVERS ["aehttp gnethttp nethttp"]  AEHTTP_FLAGS [""] (e.g. -edge)
#   SERVER_CPU [0]  CLIENT_CPU [1]  BASE_PORT [18080]
#   BUILD [/tmp/aemux-http/bin]  OUT [/tmp/aemux-http/run-YYYYmmdd-HHMMSS]
# Outputs in $OUT: results.csv (every measurement), summary.txt (medians per
# path, conns and server, and each server's median ratio to gnethttp and to
# nethttp, paired within rounds), wrk.log (wrk's output), logs/ (builds and
# servers).
#
# The full run of bench/README: bench/http.sh (5 rounds of 10 s, -c 50 and
# -c 500, /plaintext). A smoke run: ROUNDS=1 DURATION=2s WARMUP=1s bench/http.sh
set -uo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	sed -n '2,/^set -uo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
fi

cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
CONNS=${CONNS:-"50 500"}
PATHS=${PATHS:-"/plaintext"}
PIPELINE=${PIPELINE:-1}
THREADS=${THREADS:-1}
SERVERS=${SERVERS:-"aehttp gnethttp nethttp"}
AEHTTP_FLAGS=${AEHTTP_FLAGS:-}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BASE_PORT=${BASE_PORT:-18080}
BUILD=${BUILD:-/tmp/aemux-http/bin}
OUT=${OUT:-/tmp/aemux-http/run-$(date -u +%Y%m%d-%H%M%S)}
CLK_TCK=$(getconf CLK_TCK)

die() { echo "http.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
command -v taskset >/dev/null || die "taskset is not installed (util-linux)"
mkdir -p "$BUILD" "$OUT/logs" || die "cannot make $BUILD or $OUT"

echo "building into $BUILD"
go build -o "$BUILD/aehttp" ./examples/aehttp >"$OUT/logs/build-aehttp.log" 2>&1 || die "build aehttp: see $OUT/logs"
(cd bench/peers/gnethttp && go build -o "$BUILD/gnethttp" .) >"$OUT/logs/build-gnethttp.log" 2>&1 || die "build gnethttp: see $OUT/logs"
(cd bench/peers/nethttp && go build -o "$BUILD/nethttp" .) >"$OUT/logs/build-nethttp.log" 2>&1 || die "build nethttp: see $OUT/logs"

script=""
if ((PIPELINE > 1)); then
	script=$OUT/pipeline.lua
	cat >"$script" <<EOF
-- $PIPELINE requests at once on each conn, for the path of the URL.
init = function(args)
	local r = {}
	for i = 1, $PIPELINE do r[i] = wrk.format(nil) end
	batch = table.concat(r)
end
request = function() return batch end
EOF
fi

declare -A PID PORT
cleanup() {
	for s in "${!PID[@]}"; do kill "${PID[$s]}" 2>/dev/null; done
	wait 2>/dev/null
}
trap cleanup EXIT

i=0
for s in $SERVERS; do
	port=$((BASE_PORT + i))
	i=$((i + 1))
	case $s in
	aehttp) args=(-addr "127.0.0.1:$port" $AEHTTP_FLAGS) ;;
	gnethttp | nethttp) args=(-addr "127.0.0.1:$port") ;;
	*) die "unknown server $s" ;;
	esac
	GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$BUILD/$s" "${args[@]}" >"$OUT/logs/$s.log" 2>&1 &
	PID[$s]=$!
	PORT[$s]=$port
	echo "$s: pid ${PID[$s]} on 127.0.0.1:$port: $BUILD/$s ${args[*]}" | tee -a "$OUT/commands.txt"
done
for s in $SERVERS; do
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/${PORT[$s]}") 2>/dev/null && break
		sleep 0.1
	done
	(exec 3<>"/dev/tcp/127.0.0.1/${PORT[$s]}") 2>/dev/null || die "$s does not listen on ${PORT[$s]}: see $OUT/logs/$s.log"
done

# cpu_ticks PID: user+sys clock ticks of the process (fields 14 and 15).
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# measure SERVER PATH CONNS DURATION: runs wrk, prints "requests rps ticks errors".
measure() {
	local s=$1 path=$2 c=$3 d=$4 before after out
	before=$(cpu_ticks "${PID[$s]}")
	out=$(taskset -c "$CLIENT_CPU" wrk -t"$THREADS" -c"$c" -d"$d" ${script:+-s "$script"} \
		"http://127.0.0.1:${PORT[$s]}$path" 2>&1)
	after=$(cpu_ticks "${PID[$s]}")
	printf '=== %s %s -c %s -d %s\n%s\n' "$s" "$path" "$c" "$d" "$out" >>"$OUT/wrk.log"
	awk -v ticks=$((after - before)) '
		/ requests in / { req = $1 }
		/^Requests\/sec:/ { rps = $2 }
		/Socket errors:/ { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
		/Non-2xx or 3xx responses:/ { err += $5 }
		END { printf "%d %s %d %d\n", req, rps, ticks, err + 0 }' <<<"$out"
}

echo "warm-up: $WARMUP per server"
for s in $SERVERS; do
	measure "$s" "${PATHS%% *}" 50 "$WARMUP" >/dev/null
done

echo "round,path,conns,server,requests,rps,cpu_ticks,cpu_us_per_req,errors" >"$OUT/results.csv"
servers=($SERVERS)
for ((r = 1; r <= ROUNDS; r++)); do
	for path in $PATHS; do
		for c in $CONNS; do
			for ((k = 0; k < ${#servers[@]}; k++)); do
				s=${servers[$(((k + r - 1) % ${#servers[@]}))]}
				read -r req rps ticks err < <(measure "$s" "$path" "$c" "$DURATION")
				us=$(awk -v t="$ticks" -v n="$req" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", (n > 0 ? t * 1e6 / hz / n : 0) }')
				echo "$r,$path,$c,$s,$req,$rps,$ticks,$us,$err" >>"$OUT/results.csv"
				printf 'round %d %-10s -c %-4s %-9s %10s req/s  %7s µs CPU/req  errors %s\n' "$r" "$path" "$c" "$s" "$rps" "$us" "$err"
			done
		done
	done
done

# The summary: medians per path, conns and server, and the median of the
# per-round ratios of each server's CPU per request to gnethttp's and
# nethttp's.
{
	echo "bench/http.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(uname -sr)"
	echo "ROUNDS=$ROUNDS DURATION=$DURATION PIPELINE=$PIPELINE THREADS=$THREADS; servers on CPU $SERVER_CPU, wrk on CPU $CLIENT_CPU"
	printf '%-10s %-5s %-9s %12s %12s %10s %10s %7s\n' path conns server "req/s" "µs CPU/req" "/gnethttp" "/nethttp" errors
	awk -F, 'NR > 1 { k = $2 FS $3; cpu[k FS $4 FS $1] = $8; rps[k FS $4 FS $1] = $6; err[k FS $4] += $9; keys[k] = 1; srv[$4] = 1; rounds[$1] = 1 }
	function median(a, n,   i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	END {
		for (k in keys) for (s in srv) {
			n = 0; m = 0; g = 0; h = 0
			for (r in rounds) if ((k FS s FS r) in cpu) {
				n++; c[n] = cpu[k FS s FS r]; q[n] = rps[k FS s FS r]
				if ((k FS "gnethttp" FS r) in cpu && cpu[k FS "gnethttp" FS r] > 0) { g++; rg[g] = cpu[k FS s FS r] / cpu[k FS "gnethttp" FS r] }
				if ((k FS "nethttp" FS r) in cpu && cpu[k FS "nethttp" FS r] > 0) { h++; rh[h] = cpu[k FS s FS r] / cpu[k FS "nethttp" FS r] }
			}
			if (n == 0) continue
			split(k, kp, FS)
			printf "%-10s %-5s %-9s %12.0f %12.3f %10s %10s %7d\n", kp[1], kp[2], s, median(q, n), median(c, n),
				g ? sprintf("%.3f", median(rg, g)) : "-", h ? sprintf("%.3f", median(rh, h)) : "-", err[k FS s]
		}
	}' "$OUT/results.csv" | sort -k1,1 -k2,2n -k3,3
} | tee "$OUT/summary.txt"
echo "results in $OUT"
