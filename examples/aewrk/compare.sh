#!/usr/bin/env bash
# compare.sh: aewrk beside Debian's wrk on one loopback nginx, in interleaved
# rounds, and aewrk's loop threads locked and not. Needs root for apt-get
# (nginx-light, wrk, time) unless they are installed. It starts its own nginx on
# 127.0.0.1:$PORT only (default 18080), with a config in a temporary
# directory, and stops it on exit.
#
#   examples/aewrk/compare.sh [rounds] [duration]     # default: 3 rounds of 3s
#
# Prints one line per run: tool, lock mode, threads, connections, round,
# requests/s, latency avg, the client's CPU time per request; then the
# medians per tool and setting.
set -euo pipefail
rounds=${1:-3}
dur=${2:-3s}
port=${PORT:-18080}
cd "$(dirname "$0")/../.."

if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null || [[ ! -x /usr/bin/time ]]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends wrk nginx-light time >/dev/null
	# The package may start the system's nginx on port 80, every address:
	# stop it, only ours runs (on loopback).
	(command -v service >/dev/null && service nginx stop >/dev/null 2>&1) || true
fi

dir=$(mktemp -d /tmp/aewrk-compare.XXXXXX)
cleanup() {
	[[ -f $dir/nginx.pid ]] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
	sleep 0.3
	rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/www" "$dir/logs"
# A 615-byte page, the size of Debian's default nginx page.
head -c 615 /dev/zero | tr '\0' 'x' >"$dir/www/index.html"
chmod -R a+rX "$dir"
cat >"$dir/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/logs/error.log;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$port;
        root $dir/www;
    }
}
CONF
nginx -c "$dir/nginx.conf" -p "$dir"
sleep 0.3
url=http://127.0.0.1:$port/index.html
go build -o "$dir/aewrk" ./examples/aewrk

# run NAME LOCK THREADS CONNECTIONS: one run, one result line: name lock
# threads connections round requests/s latency-avg client-CPU-per-request.
# The client's CPU time (user + system, from GNU time) per request is
# steadier than requests/s when other work shares the machine.
run() {
	local name=$1 lock=$2 t=$3 c=$4 cmd
	if [[ $name == wrk ]]; then
		cmd=(wrk -d"$dur" -t"$t" -c"$c" "$url")
	else
		cmd=("$dir/aewrk" --lock "$lock" -d"$dur" -t"$t" -c"$c" "$url")
	fi
	/usr/bin/time -f '%U %S' -o "$dir/time" "${cmd[@]}" >"$dir/out"
	awk -v name="$name" -v lock="$lock" -v t="$t" -v c="$c" -v round="$round" -v cpu="$(cat "$dir/time")" '
		/ requests in / { n = $1 }
		/^Requests\/sec:/ { rps = $2 }
		$1 == "Latency" && NF >= 4 && lat == "" { lat = $2 }
		END { split(cpu, u, " ")
		      printf "%-6s %-4s -t%-2s -c%-4s %2d %10s %10s %8.1fus\n", name, lock, t, c, round, rps, lat, (u[1] + u[2]) * 1e6 / n }' "$dir/out"
}

echo "tool   lock threads conns round req/s latency-avg client-cpu/request"
{
	for round in $(seq 1 "$rounds"); do
		run wrk - 1 50
		run aewrk auto 1 50
		run wrk - 2 100
		run aewrk auto 2 100
		for tc in "2 100" "8 100"; do
			for lock in on off; do
				# shellcheck disable=SC2086
				run aewrk "$lock" $tc
			done
		done
	done
} | tee "$dir/runs.txt"

echo
echo "medians (requests/s, then client CPU per request):"
for col in 6 8; do
	sort -k1,1 -k2,2 -k3,3 -k4,4 -k${col},${col}n "$dir/runs.txt" |
		awk -v col=$col '{ k = sprintf("%-6s %-4s %s %s", $1, $2, $3, $4); if (!(k in v)) keys[++nk] = k; x = $col; sub(/us$/, "", x); v[k] = v[k] " " x }
		     END { for (i = 1; i <= nk; i++) { k = keys[i]; n = split(v[k], a, " ")
		           m = n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
		           printf "  %s  %10.1f  (%s )\n", k, m, v[k] } }'
done
