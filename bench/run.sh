#!/usr/bin/env bash
# run.sh — redis-benchmark against redis-server, cmd/aeserver (epoll and poll
# backends), the bare C floor and RESP servers on other Go event-loop
# libraries, side by side, in interleaved rounds, on 127.0.0.1 only; or
# (--idle-memory) each server's memory per idle connection.
#
# Usage:
#   bench/run.sh [NAME=command-line ...]     run the benchmark
#   bench/run.sh --idle-memory [NAME=command-line ...]
#                                            memory per idle connection: for each
#                                            server in turn, IDLE_N connections that
#                                            each answered one PING, VmRSS before and after
#   bench/run.sh --report OUTDIR             print OUTDIR's tables and summary again from its results.csv
#                                            (and write its medians.csv again, e.g. for another BASE)
#   bench/run.sh --help                      print this text
#
# Built-in servers (SERVERS picks among them, in this order; the first one is
# the baseline of every ratio):
#   redis           redis-server --save '' --appendonly no (from apt)
#   aeserver-epoll  $BUILD/aeserver -backend epoll -addr 127.0.0.1:{PORT}
#   aeserver-poll   $BUILD/aeserver -backend poll -addr 127.0.0.1:{PORT}
#   bareepoll       bench/peers/bareepoll/bareepoll.c: the floor, a single-threaded
#                   C server on bare epoll that does no more than the protocol
#                   needs (built once with cc -O2 -o $BUILD/bareepoll; needs cc)
# and the Go peers, single-loop RESP servers sharing one parser and command set
# (bench/peers/resp: PING, ECHO, SET, GET, CONFIG GET, COMMAND, QUIT), each
# written the way its library's own examples write a server and built once
# with go build into $BUILD/NAME:
#   stdlibping      Go's net package, a goroutine per connection
#   gnetping        gnet v2 (github.com/panjf2000/gnet/v2), one event loop
#   nbioping        nbio (github.com/lesismal/nbio), one poller
#   evioping        evio (github.com/tidwall/evio), one loop
#   netpollping     cloudwego/netpoll (github.com/cloudwego/netpoll), one poller
# "peers" in SERVERS stands for all five, in that order.
# aeserver is built once with `go build -o $BUILD/aeserver ./cmd/aeserver` from
# the repository root. AESERVER_CMD replaces its command line for both
# aeserver-* servers, {BACKEND} standing for epoll or poll, e.g.
#   AESERVER_CMD='/tmp/aeserver -backend {BACKEND} -loops 1 -addr 127.0.0.1:{PORT}'
# (or any RESP server, to try the harness before cmd/aeserver exists).
#
# Extra servers are given as NAME=command-line, "{PORT}" standing for the port
# it must listen on (always 127.0.0.1; PORT is also set in its environment).
# The command line is run by sh with `exec`, so it must be a single command
# (the harness measures that process's CPU and memory):
#   bench/run.sh 'other=/tmp/other -addr 127.0.0.1:{PORT}'
#
# Servers are pinned with `taskset -c $SERVER_CPU`, redis-benchmark with
# `taskset -c $CLIENT_CPU`. Every server runs for the whole run; in each round,
# for each config and test, the servers are measured one right after another.
# Each measurement is one redis-benchmark invocation for one test, so the
# server's CPU time for exactly that test is read from /proc/PID/stat, and the
# busy time of both CPUs from /proc/stat, and how often the server blocked
# (voluntary context switches of its threads, /proc/PID/task/*/status). In
# the first SC_ROUNDS rounds, where perf can count them, a second invocation
# right after it counts the system calls the server makes (perf stat on the
# syscall tracepoints, attached to the server's pid): all of them, and those
# that read (read, readv, recvfrom, recvmsg), write (write, writev, sendto,
# sendmsg) and wait for readiness (epoll_wait, epoll_pwait, epoll_pwait2,
# poll, ppoll, select, pselect6). Counting costs the server about 0.15-0.3 µs
# of CPU per system call, so it never runs during the measurement whose CPU
# time, requests/s and sleeps are recorded. Configs: p1 = -c 50 -P 1,
# p16 = -c 50 -P 16, c1000 = -c 1000 -P 1. Tests: redis-benchmark -t names.
#
# Knobs (environment, defaults in brackets):
#   ROUNDS [3]  N_P1 [150000]  N_P16 [2000000]  N_C1000 [150000]  WARMUP_N [20000]
#   TESTS ["ping_inline ping_mbulk set get"]  CONFIGS ["p1 p16 c1000"]
#   SERVERS ["redis aeserver-epoll aeserver-poll stdlibping"]  BASE_PORT [16379]
#   SERVER_CPU [0]  CLIENT_CPU [1]  BENCH_TIMEOUT [120] (seconds per redis-benchmark)
#   AESERVER_CMD [unset: build cmd/aeserver]  BUILD [/tmp/aemux-bench/bin]
#   OUT [/tmp/aemux-bench/run-YYYYmmdd-HHMMSS]  CHARTS [1] (0: no SVG charts)
#   BASE [the first server]: the server every ratio is to, e.g.
#   BASE=stdlibping bench/run.sh --report DIR
#   SYSCALLS [1]: count system calls with perf (installed from apt as
#   linux-perf if missing); 0, or a kernel that refuses, leaves the columns NA.
#   SC_ROUNDS [1]: how many rounds (the first ones) count them; each such
#   measurement then runs redis-benchmark twice.
#   IDLE_N [10000] (at most 15000), IDLE_TIMEOUT [120] (seconds per server),
#   IDLE_SETTLE [1s]: --idle-memory's connections per server, the time they may
#   take, and how long VmRSS must stay the same before it is read. Connections
#   come from 127.0.0.2-127.0.0.251 (bench/peers/idleconn, built into $BUILD);
#   redis-server and aeserver get a maxclients above IDLE_N in this mode, and
#   redis-server --protected-mode no (it refuses 127.0.0.2 and up otherwise).
#   MAX_STEAL [20]  STEAL_TRIES [4]: on a virtual machine whose host is busy,
#   the hypervisor stops the CPUs now and then (the steal column of /proc/stat).
#   A measurement during which more than MAX_STEAL ticks (both CPUs together)
#   were stolen is discarded and repeated, at most STEAL_TRIES times in all;
#   results.csv keeps the steal of the measurement it records, and the number
#   of tries. MAX_STEAL=-1 keeps every first measurement.
# Outputs in $OUT: results.md (tables), summary.txt (the summary printed at
# the end), results.csv (every measurement), medians.csv (the medians and
# paired ratios the charts draw), ratios.md (the table of median paired ratios
# of CPU per request to BASE, a row per config and test), memory.csv,
# chart-cpu.svg and
# chart-rps.svg and chart-syscalls.svg (go run ./cmd/benchchart), commands.txt,
# env.sh, bench-raw.log (redis-benchmark output), syscalls.log (perf stat's
# counts per measurement, every traced call by name), logs/ (builds, server logs).
# --idle-memory writes idle-memory.csv (per server: connections, VmRSS before
# and after in KiB, bytes per connection, time to open them) and idle-memory.md
# (its table, with the ratio to BASE), besides commands.txt and logs/.
set -uo pipefail

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
	sed -n '2,/^set -uo pipefail/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
	exit 0
fi

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CLK=$(getconf CLK_TCK)

ROUNDS=${ROUNDS:-3}
N_P1=${N_P1:-150000}
N_P16=${N_P16:-2000000}
N_C1000=${N_C1000:-150000}
WARMUP_N=${WARMUP_N:-20000}
TESTS=${TESTS:-"ping_inline ping_mbulk set get"}
CONFIGS=${CONFIGS:-"p1 p16 c1000"}
SERVERS=${SERVERS:-"redis aeserver-epoll aeserver-poll stdlibping"}
BASE_PORT=${BASE_PORT:-16379}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-120}
AESERVER_CMD=${AESERVER_CMD:-}
BUILD=${BUILD:-/tmp/aemux-bench/bin}
CHARTS=${CHARTS:-1}
MAX_STEAL=${MAX_STEAL:-20}
STEAL_TRIES=${STEAL_TRIES:-4}
SYSCALLS=${SYSCALLS:-1}
SC_ROUNDS=${SC_ROUNDS:-1}
IDLE_N=${IDLE_N:-10000}
IDLE_TIMEOUT=${IDLE_TIMEOUT:-120}
IDLE_SETTLE=${IDLE_SETTLE:-1s}
GO_PEERS="stdlibping gnetping nbioping evioping netpollping"
SERVERS=${SERVERS//peers/$GO_PEERS}

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

cfg_args() { # config -> redis-benchmark -c/-P/-n arguments
	case $1 in
	p1) echo "-c 50 -P 1 -n $N_P1" ;;
	p16) echo "-c 50 -P 16 -n $N_P16" ;;
	c1000) echo "-c 1000 -P 1 -n $N_C1000" ;;
	*) die "unknown config '$1' (p1, p16, c1000)" ;;
	esac
}

aggregate() { # outdir mode -> aggregate.awk's output for results.csv (mode: tables, summary or medians)
	local d=$1 servers
	servers=$(cat "$d/servers.txt")
	awk -v mode="$2" -v servers="$servers" -v base="${BASE:-${servers%% *}}" -v configs="$CONFIGS" -v tests="$TESTS" \
		-v clk="$CLK" -v cdesc_p1="$(cfg_args p1)" -v cdesc_p16="$(cfg_args p16)" \
		-v cdesc_c1000="$(cfg_args c1000)" -f "$HERE/aggregate.awk" "$d/results.csv"
}

render() { # outdir -> results.md tables on stdout
	echo "### Server CPU per request, ratio to ${BASE:-$(awk '{ print $1 }' "$1/servers.txt")}: median of the per-round paired ratios"
	echo
	aggregate "$1" ratios
	aggregate "$1" tables
	[[ -f $1/memory.csv ]] || return 0
	echo
	echo "### Memory"
	echo
	echo "| server | process | VmRSS after start, MiB | peak RSS (VmHWM) at end, MiB | threads at end |"
	echo "|---|---|---:|---:|---:|"
	awk -F, 'NR > 1 { printf "| %s | %s | %.1f | %.1f | %s |\n", $1, $2, $3 / 1024, $4 / 1024, $5 }' "$1/memory.csv"
}

idle_table() { # idle-memory.csv -> its Markdown table on stdout, with the ratio to the first row's server (or BASE)
	awk -F, -v base="${BASE:-}" '
		NR == 1 { next }
		{ n++; name[n] = $1; conns[n] = $3; before[n] = $4; after[n] = $5; per[n] = $6; if (base == "" && n == 1) base = $1; if ($1 == base && $6 != "NA") bper = $6 + 0 }
		END {
			print "| server | connections | VmRSS before, MiB | VmRSS after, MiB | bytes per idle connection | ratio to " base " |"
			print "|---|---:|---:|---:|---:|---:|"
			for (i = 1; i <= n; i++) {
				if (per[i] == "NA") { printf "| %s | %s | NA | NA | NA | NA |\n", name[i], conns[i]; continue }
				printf "| %s | %d | %.1f | %.1f | %.0f | %s |\n", name[i], conns[i], before[i] / 1024, after[i] / 1024, per[i], \
					(bper > 0 ? sprintf("%.2f", per[i] / bper) : "NA")
			}
		}' "$1"
}

if [[ ${1:-} == --report ]]; then
	[[ -f ${2:-}/servers.txt ]] || die "usage: $0 --report OUTDIR (a run's output, with servers.txt)"
	# shellcheck source=/dev/null
	[[ -f $2/env.sh ]] && . "$2/env.sh"
	if [[ -f $2/idle-memory.csv ]]; then
		idle_table "$2/idle-memory.csv"
		[[ -f $2/results.csv ]] || exit 0
		echo
	fi
	[[ -f $2/results.csv ]] || die "$2 has no results.csv"
	render "$2"
	echo
	aggregate "$2" summary
	aggregate "$2" medians >"$2/medians.csv" && log "wrote $2/medians.csv (go run ./cmd/benchchart -in $2/medians.csv draws it)"
	exit 0
fi
IDLE=0
if [[ ${1:-} == --idle-memory ]]; then
	IDLE=1
	shift
	[[ $IDLE_N =~ ^[0-9]+$ ]] && ((IDLE_N >= 1 && IDLE_N <= 15000)) || die "IDLE_N must be 1 to 15000, got $IDLE_N"
fi
[[ ${1:-} != -* ]] || die "unknown option $1 (see $0 --help)"

OUT=${OUT:-/tmp/aemux-bench/$( ((IDLE)) && echo idle || echo run)-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/logs" || die "cannot create $OUT"

# --- tools ------------------------------------------------------------------
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
	log "installing redis-server and redis-tools with apt"
	if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server redis-tools; } >"$OUT/logs/apt.log" 2>&1; then
		die "apt-get install failed; see $OUT/logs/apt.log"
	fi
fi
for t in taskset timeout redis-cli redis-benchmark ss go; do
	command -v "$t" >/dev/null || die "missing tool: $t"
done
if [[ $SYSCALLS != 0 ]] && ! command -v perf >/dev/null; then
	log "installing linux-perf with apt (to count system calls; SYSCALLS=0 skips it)"
	{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q linux-perf; } >"$OUT/logs/apt-perf.log" 2>&1 ||
		log "warning: could not install linux-perf (see $OUT/logs/apt-perf.log); no system call counts"
fi

# 1,000 client connections need more than the usual 1,024 descriptors, on both sides.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge 4096 ]] || die "ulimit -n is $(ulimit -n); need at least 4096"

# --- server table -------------------------------------------------------------
NAMES=() CMDS=() PORTS=() PIDS=()
add_server() {
	local n
	for n in "${NAMES[@]}"; do [[ $n != "$1" ]] || die "duplicate server name $1"; done
	NAMES+=("$1") CMDS+=("$2")
}

AESERVER_TEMPLATE= # command line with {BACKEND} and {PORT}, once checked or built
aeserver_template() {
	[[ -n $AESERVER_TEMPLATE ]] && return
	local words
	if [[ -n $AESERVER_CMD ]]; then
		[[ $AESERVER_CMD == *"{PORT}"* ]] || die "AESERVER_CMD must contain {PORT}: $AESERVER_CMD"
		read -r -a words <<<"$AESERVER_CMD"
		command -v "${words[0]}" >/dev/null || die "AESERVER_CMD: '${words[0]}' is not an executable"
		AESERVER_TEMPLATE=$AESERVER_CMD
		log "aeserver-*: AESERVER_CMD=$AESERVER_CMD"
		return
	fi
	[[ -d $REPO/cmd/aeserver ]] || die "aeserver: $REPO/cmd/aeserver does not exist. Set AESERVER_CMD='BINARY ... -addr 127.0.0.1:{PORT}' or drop aeserver-epoll and aeserver-poll from SERVERS."
	log "building aeserver: go build -o $BUILD/aeserver ./cmd/aeserver"
	mkdir -p "$BUILD"
	if ! (cd "$REPO" && go build -o "$BUILD/aeserver" ./cmd/aeserver) >"$OUT/logs/build-aeserver.log" 2>&1; then
		sed 's/^/    /' "$OUT/logs/build-aeserver.log" | head -20 >&2
		die "aeserver: 'go build ./cmd/aeserver' failed (above; full log $OUT/logs/build-aeserver.log). Fix it, or set AESERVER_CMD, or drop aeserver-epoll and aeserver-poll from SERVERS."
	fi
	AESERVER_TEMPLATE="$BUILD/aeserver -backend {BACKEND} -addr 127.0.0.1:{PORT}"
}

# With --idle-memory, redis-server and aeserver must take more than their
# default 10,000 clients, and redis-server must take clients from 127.0.0.x
# other than 127.0.0.1 (protected mode refuses them; it still listens on
# 127.0.0.1 only).
MAXCLIENTS=$((IDLE_N + 1000))
build_go_peer() { # name: go build bench/peers/NAME into $BUILD/NAME
	mkdir -p "$BUILD"
	(cd "$HERE/peers/$1" && go build -o "$BUILD/$1" .) >"$OUT/logs/build-$1.log" 2>&1 ||
		die "$1 does not build; see $OUT/logs/build-$1.log"
}

for s in $SERVERS; do
	case $s in
	redis)
		mkdir -p "$OUT/redis-dir"
		add_server redis "redis-server --save '' --appendonly no --port {PORT} --bind 127.0.0.1 --dir $OUT/redis-dir$( ((IDLE)) && echo " --maxclients $MAXCLIENTS --protected-mode no")"
		;;
	aeserver-epoll | aeserver-poll)
		aeserver_template
		add_server "$s" "${AESERVER_TEMPLATE//\{BACKEND\}/${s#aeserver-}}$( ((IDLE)) && [[ -z $AESERVER_CMD ]] && echo " -maxclients $MAXCLIENTS")"
		;;
	stdlibping | gnetping | nbioping | evioping | netpollping)
		build_go_peer "$s"
		add_server "$s" "$BUILD/$s -addr 127.0.0.1:{PORT}"
		;;
	bareepoll)
		command -v cc >/dev/null ||
			die "bareepoll needs a C compiler (cc): apt-get install gcc, or drop bareepoll from SERVERS"
		mkdir -p "$BUILD"
		cc -O2 -o "$BUILD/bareepoll" "$HERE/peers/bareepoll/bareepoll.c" >"$OUT/logs/build-bareepoll.log" 2>&1 ||
			die "bareepoll does not build; see $OUT/logs/build-bareepoll.log"
		add_server bareepoll "$BUILD/bareepoll -addr 127.0.0.1:{PORT}"
		;;
	*) die "unknown built-in server '$s' (redis, aeserver-epoll, aeserver-poll, bareepoll, $GO_PEERS or peers; others as NAME=command-line)" ;;
	esac
done
for arg in "$@"; do
	[[ $arg == *=* ]] || die "extra server must be NAME=command-line, got: $arg"
	name=${arg%%=*} cmd=${arg#*=}
	[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad server name '$name'"
	[[ $cmd == *"{PORT}"* ]] || die "command line for $name must contain {PORT}"
	add_server "$name" "$cmd"
done
((${#NAMES[@]} > 0)) || die "no servers to run"

# --- process control ----------------------------------------------------------
BENCH_PID= PERF_PID=
cleanup() {
	local pid i
	if [[ -n $PERF_PID ]]; then
		kill -INT "$PERF_PID" 2>/dev/null
		wait "$PERF_PID" 2>/dev/null
		PERF_PID=
	fi
	if [[ -n $BENCH_PID ]] && kill -0 "$BENCH_PID" 2>/dev/null; then
		kill -TERM "$BENCH_PID" 2>/dev/null # timeout(1) passes it on to redis-benchmark
		wait "$BENCH_PID" 2>/dev/null
	fi
	for i in "${!PIDS[@]}"; do
		pid=${PIDS[$i]}
		[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
	for i in "${!PIDS[@]}"; do
		pid=${PIDS[$i]}
		[[ -n $pid ]] || continue
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			log "${NAMES[$i]} (pid $pid) ignored SIGTERM; sending SIGKILL"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	PIDS=()
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

port_free() { [[ -z $(ss -Htln "sport = :$1") ]]; }

cpu_ticks() { # utime+stime of all threads, in clock ticks (fields 14, 15)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo NA; return; }
	s=${s##*) }
	awk '{ print $12 + $13 }' <<<"$s"
}
sleeps() { # voluntary context switches of all of a process's threads: how often it blocked
	cat /proc/"$1"/task/*/status 2>/dev/null | awk '$1 == "voluntary_ctxt_switches:" { n += $2 } END { print n + 0 }'
}
proc_status() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
core_busy() { # CPU number -> its non-idle ticks: user nice system irq softirq steal
	awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}
steal_ticks() { awk '$1 == "cpu" { print $9 }' /proc/stat; } # both CPUs
listen_overflows() {
	awk '$1 == "TcpExt:" { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ListenOverflows") c = i; h = 1 } else print $c }' /proc/net/netstat
}
pong() { [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]]; }

start_server() { # index
	local i=$1 port=$((BASE_PORT + 10 * $1)) cmd pid
	while ! port_free "$port"; do port=$((port + 1)); done
	PORTS[i]=$port
	cmd=${CMDS[$i]//\{PORT\}/$port}
	echo "${NAMES[$i]}: taskset -c $SERVER_CPU $cmd" >>"$OUT/commands.txt"
	PORT=$port taskset -c "$SERVER_CPU" sh -c "exec $cmd" >"$OUT/logs/${NAMES[$i]}.log" 2>&1 &
	pid=$!
	PIDS[i]=$pid
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || { log "${NAMES[$i]} exited at start; log:"; tail -5 "$OUT/logs/${NAMES[$i]}.log" >&2; return 1; }
		pong "$port" && break
		sleep 0.1
	done
	pong "$port" || { log "${NAMES[$i]} does not answer PING on port $port"; return 1; }
	log "started ${NAMES[$i]}: pid $pid ($(cat "/proc/$pid/comm")), port $port"
}

# --- system calls -------------------------------------------------------------
# The tracepoints perf counts: every system call, then the ones of each class.
SC_READ="read readv recvfrom recvmsg"
SC_WRITE="write writev sendto sendmsg"
SC_WAIT="epoll_wait epoll_pwait epoll_pwait2 poll ppoll select pselect6"
SC_EVENTS=
syscalls_probe() { # pid -> sets SC_EVENTS when perf can count that process's system calls
	local e n ev=raw_syscalls:sys_enter
	[[ $SYSCALLS != 0 ]] || { log "SYSCALLS=0: no system call counts"; return; }
	command -v perf >/dev/null || { log "no perf: no system call counts"; return; }
	for n in $SC_READ $SC_WRITE $SC_WAIT futex nanosleep clock_nanosleep; do
		[[ -d /sys/kernel/tracing/events/syscalls/sys_enter_$n || -d /sys/kernel/debug/tracing/events/syscalls/sys_enter_$n ]] &&
			ev+=,syscalls:sys_enter_$n
	done
	if ! e=$(perf stat -x, -e "$ev" -p "$1" -- sleep 0.2 2>&1) || ! grep -q ',raw_syscalls:sys_enter,' <<<"$e"; then
		log "perf cannot count system calls here (perf_event_paranoid=$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null), $(head -1 <<<"$e")); the syscall columns are NA"
		return
	fi
	SC_EVENTS=$ev
	log "counting system calls with perf stat -e $ev"
}
syscalls_start() { # pid: perf stat attached to it, counting until syscalls_stop
	[[ -n $SC_EVENTS ]] || return 0
	perf stat -x, -e "$SC_EVENTS" -p "$1" -o "$OUT/perf.txt" 2>/dev/null &
	PERF_PID=$!
	sleep 0.2 # attached by then; the idle server's few calls in between do not count for much
}
syscalls_stop() { # sets SC to "total,read,write,wait,other" counts (NA without perf); logs them all
	SC=NA,NA,NA,NA,NA
	[[ -n $PERF_PID ]] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	PERF_PID=
	SC=$(awk -F, -v r=" $SC_READ " -v w=" $SC_WRITE " -v p=" $SC_WAIT " '
		$3 == "raw_syscalls:sys_enter" { tot = $1 }
		$3 ~ /^syscalls:sys_enter_/ { n = substr($3, 20); c = $1 + 0
			if (index(r, " " n " ")) rd += c; else if (index(w, " " n " ")) wr += c; else if (index(p, " " n " ")) wt += c }
		END { if (tot !~ /^[0-9]+$/) print "NA,NA,NA,NA,NA"; else printf "%d,%d,%d,%d,%d\n", tot, rd, wr, wt, tot - rd - wr - wt }
	' "$OUT/perf.txt")
	awk -F, '$3 ~ /:/ { printf " %s=%s", substr($3, index($3, ":") + 1), $1 } END { print "" }' "$OUT/perf.txt" >>"$OUT/syscalls.log"
}

# --- run ----------------------------------------------------------------------
{
	echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "nproc=$(nproc) kernel=$(uname -r) cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	redis-server --version
	redis-benchmark --version
	go version 2>/dev/null || echo "go: not found"
	echo "repo: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "ulimit -n $(ulimit -n); somaxconn $(cat /proc/sys/net/core/somaxconn)"
} >"$OUT/commands.txt"
declare -p ROUNDS N_P1 N_P16 N_C1000 WARMUP_N TESTS CONFIGS IDLE_N IDLE_SETTLE | sed -E 's/^declare -[-a-zA-Z]* //' >"$OUT/env.sh"

for i in "${!NAMES[@]}"; do
	start_server "$i" || die "could not start ${NAMES[$i]} (log: $OUT/logs/${NAMES[$i]}.log)"
done
echo "${NAMES[*]}" >"$OUT/servers.txt"

if ((IDLE)); then
	build_go_peer idleconn
	log "idle memory: $IDLE_N connections per server, one PING each, VmRSS before and after"
	echo "server,process,conns,rss_before_kb,rss_after_kb,bytes_per_conn,open_ms" >"$OUT/idle-memory.csv"
	for i in "${!NAMES[@]}"; do
		echo "taskset -c $CLIENT_CPU $BUILD/idleconn -addr 127.0.0.1:${PORTS[$i]} -pid ${PIDS[$i]} -n $IDLE_N -settle $IDLE_SETTLE -timeout ${IDLE_TIMEOUT}s" >>"$OUT/commands.txt"
		# In the background and waited for, so that a signal reaches the trap at once.
		timeout $((IDLE_TIMEOUT + 30)) taskset -c "$CLIENT_CPU" "$BUILD/idleconn" -addr "127.0.0.1:${PORTS[$i]}" -pid "${PIDS[$i]}" \
			-n "$IDLE_N" -settle "$IDLE_SETTLE" -timeout "${IDLE_TIMEOUT}s" >"$OUT/idle.out" 2>"$OUT/logs/idleconn-${NAMES[$i]}.log" </dev/null &
		BENCH_PID=$!
		wait "$BENCH_PID"
		rc=$?
		BENCH_PID=
		line=$(tail -1 "$OUT/idle.out")
		if ((rc != 0)) || [[ -z $line ]]; then
			log "${NAMES[$i]}: idleconn failed (exit $rc): $(tail -1 "$OUT/logs/idleconn-${NAMES[$i]}.log")"
			line="$IDLE_N,NA,NA,NA,NA"
		fi
		echo "${NAMES[$i]},$(cat "/proc/${PIDS[$i]}/comm" 2>/dev/null || echo gone),$line" >>"$OUT/idle-memory.csv"
		log "${NAMES[$i]}: $(cut -d, -f4 <<<"$line") bytes per idle connection ($IDLE_N connections)"
	done
	cleanup
	rm -f "$OUT/idle.out"
	idle_table "$OUT/idle-memory.csv" >"$OUT/idle-memory.md"
	echo
	cat "$OUT/idle-memory.md"
	echo
	log "results in $OUT: idle-memory.md, idle-memory.csv"
	exit 0
fi

syscalls_probe "${PIDS[0]}"
mem_start=()
for i in "${!NAMES[@]}"; do mem_start[i]=$(proc_status "${PIDS[$i]}" VmRSS); done

bench() { # index test extra-args... -> output of redis-benchmark in $OUT/last.txt
	local i=$1 t=$2 rc
	shift 2
	echo "taskset -c $CLIENT_CPU redis-benchmark -h 127.0.0.1 -p ${PORTS[$i]} -q -t $t $*" >>"$OUT/bench-raw.log"
	# In the background and waited for, so that a signal reaches the trap at once.
	timeout "$BENCH_TIMEOUT" taskset -c "$CLIENT_CPU" redis-benchmark -h 127.0.0.1 -p "${PORTS[$i]}" -q -t "$t" "$@" \
		</dev/null >"$OUT/last.raw" 2>&1 &
	BENCH_PID=$!
	wait "$BENCH_PID"
	rc=$?
	BENCH_PID=
	((rc != 124)) || log "${NAMES[$i]} $t: redis-benchmark timed out after ${BENCH_TIMEOUT}s"
	# -q still prints progress lines ("rps=...") separated by carriage returns.
	tr '\r' '\n' <"$OUT/last.raw" | grep -v -e '^$' -e 'rps=' >"$OUT/last.txt"
	cat "$OUT/last.txt" >>"$OUT/bench-raw.log"
}

log "warm-up: $WARMUP_N requests per test, -c 50 and -c 1000"
for i in "${!NAMES[@]}"; do
	bench "$i" "$(tr ' ' ',' <<<"$TESTS")" -n "$WARMUP_N" -c 50 >/dev/null
	bench "$i" "$(tr ' ' ',' <<<"$TESTS")" -n "$WARMUP_N" -c 1000 >/dev/null
done

echo "round,config,test,server,rps,p50_ms,cpu_ticks,requests,wall_ms,listen_overflows,server_core_ticks,client_core_ticks,steal_ticks,tries,server_sleeps,sc_total,sc_read,sc_write,sc_wait,sc_other" >"$OUT/results.csv"
for r in $(seq 1 "$ROUNDS"); do
	for cfg in $CONFIGS; do
		read -r -a args <<<"$(cfg_args "$cfg")"
		n=${args[5]}
		for t in $TESTS; do
			for i in "${!NAMES[@]}"; do
				pid=${PIDS[$i]} name=${NAMES[$i]}
				if ! kill -0 "$pid" 2>/dev/null; then
					log "round $r $cfg $t: $name is not running"
					echo "$r,$cfg,$t,$name,NA,NA,NA,$n,NA,NA,NA,NA,NA,0,NA,NA,NA,NA,NA,NA" >>"$OUT/results.csv"
					continue
				fi
				for ((try = 1; ; try++)); do
					c0=$(cpu_ticks "$pid") o0=$(listen_overflows) s0=$(core_busy "$SERVER_CPU") k0=$(core_busy "$CLIENT_CPU") st0=$(steal_ticks) v0=$(sleeps "$pid") t0=$(date +%s%N)
					bench "$i" "$t" "${args[@]}"
					t1=$(date +%s%N) c1=$(cpu_ticks "$pid") o1=$(listen_overflows) s1=$(core_busy "$SERVER_CPU") k1=$(core_busy "$CLIENT_CPU") st1=$(steal_ticks) v1=$(sleeps "$pid")
					((MAX_STEAL < 0 || st1 - st0 <= MAX_STEAL || try >= STEAL_TRIES)) && break
					log "round $r $cfg $t $name: $((st1 - st0)) ticks stolen by the hypervisor (over MAX_STEAL=$MAX_STEAL); measuring again"
					sleep 1
				done
				line=$(grep 'requests per second' "$OUT/last.txt" | tail -1)
				SC=NA,NA,NA,NA,NA
				if [[ -n $SC_EVENTS ]] && ((r <= SC_ROUNDS)); then # the same invocation again, counted
					syscalls_start "$pid"
					bench "$i" "$t" "${args[@]}"
					printf 'round %s %s %s %s:' "$r" "$cfg" "$t" "$name" >>"$OUT/syscalls.log"
					syscalls_stop
				fi
				rps=$(sed -nE 's/^[^:]+: ([0-9.]+) requests per second.*/\1/p' <<<"$line")
				p50=$(sed -nE 's/.*p50=([0-9.]+) msec.*/\1/p' <<<"$line")
				ticks=NA
				[[ $c0 != NA && $c1 != NA ]] && ticks=$((c1 - c0))
				echo "$r,$cfg,$t,$name,${rps:-NA},${p50:-NA},$ticks,$n,$(((t1 - t0) / 1000000)),$((o1 - o0)),$((s1 - s0)),$((k1 - k0)),$((st1 - st0)),$try,$((v1 - v0)),$SC" >>"$OUT/results.csv"
				log "round $r/$ROUNDS $cfg $t $name: ${rps:-FAILED} rps, server cpu ${ticks} ticks"
			done
		done
	done
done

echo "server,process,vmrss_start_kb,vmhwm_end_kb,threads_end" >"$OUT/memory.csv"
for i in "${!NAMES[@]}"; do
	pid=${PIDS[$i]}
	echo "${NAMES[$i]},$(cat "/proc/$pid/comm" 2>/dev/null || echo gone),${mem_start[$i]:-NA},$(proc_status "$pid" VmHWM),$(proc_status "$pid" Threads)" >>"$OUT/memory.csv"
done
cleanup # the servers are done; stop them before building the chart tool
rm -f "$OUT/last.raw" "$OUT/last.txt" "$OUT/perf.txt"

render "$OUT" >"$OUT/results.md"
aggregate "$OUT" summary >"$OUT/summary.txt"
aggregate "$OUT" medians >"$OUT/medians.csv"
aggregate "$OUT" ratios >"$OUT/ratios.md"

if [[ $CHARTS != 0 ]]; then
	for m in cpu rps $([[ -n $SC_EVENTS ]] && echo syscalls); do
		(cd "$REPO" && go run ./cmd/benchchart -in "$OUT/medians.csv" -out "$OUT/chart-$m.svg" -metric "$m") \
			>"$OUT/logs/benchchart-$m.log" 2>&1 ||
			log "warning: benchchart -metric $m failed; see $OUT/logs/benchchart-$m.log"
	done
fi

echo
cat "$OUT/summary.txt"
echo
log "results in $OUT: results.md (all tables), ratios.md, summary.txt, results.csv, memory.csv$([[ -f $OUT/chart-cpu.svg ]] && echo ', chart-cpu.svg, chart-rps.svg')$([[ -f $OUT/chart-syscalls.svg ]] && echo ', chart-syscalls.svg')"
