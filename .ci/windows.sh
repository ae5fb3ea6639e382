#!/usr/bin/env bash
# The Windows step of CI: vet for windows/amd64 and windows/arm64,
# staticcheck for windows/amd64, then the windows/amd64 tests under Wine
# (Debian's wine64) through the exec wrapper .ci/windows/exec, with the
# subtest counts per package and backend, and last aeserver.exe under Wine
# driven by Linux's redis-cli and redis-benchmark (TestWindowsServer, a
# Linux test). Every setup failure fails the step. Called by .ci/run; runs
# alone as well.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every package builds for windows. Where a test needs what Windows lacks
# (SIGTERM, an fd rlimit, package net adopting a socket), it says so when
# it skips, or checks the refusal instead.
pkgs=(./...)
# The packages whose tests run under Wine: the conformance suite (tests)
# runs RunPoller, RunLoop and RunConn on iocp; anet, aeconn and aeserver
# run their own.
# (examples/aewrk's tests hand sockets to package net, which anet cannot
# do on Windows: they run on unix only.)
test_pkgs=(. ./event ./aeloop ./tests ./internal/resp ./internal/winsock ./anet ./aeconn ./cmd/aeserver)

WINE=/usr/lib/wine/wine64
WINESERVER=/usr/lib/wine/wineserver64
MINGW=x86_64-w64-mingw32-gcc

echo "go vet for windows: ${pkgs[*]}"
GOOS=windows GOARCH=amd64 go vet "${pkgs[@]}"
GOOS=windows GOARCH=arm64 go vet "${pkgs[@]}"
# staticcheck for windows: built for this machine, run with GOOS=windows.
scbin=$(mktemp -d)
GOBIN=$scbin go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOOS=windows "$scbin/staticcheck" "${pkgs[@]}"
rm -r "$scbin"

t0=$SECONDS
need=()
[[ -x $WINE && -x $WINESERVER ]] || need+=(wine64)
command -v "$MINGW" >/dev/null || need+=(gcc-mingw-w64-x86-64)
{ command -v redis-cli && command -v redis-benchmark; } >/dev/null || need+=(redis-tools)
command -v redis-server >/dev/null || need+=(redis-server)
if ((${#need[@]})); then
	echo "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
"$WINE" --version

export WINEPREFIX=${AEMUX_WINEPREFIX:-${TMPDIR:-/tmp}/aemux-wine}
export WINEDEBUG=-all             # Wine's own diagnostics would mix with the test output
export WINEDLLOVERRIDES="mscoree,mshtml=" # no Mono or Gecko installer on prefix creation
export WINE

# A persistent wineserver, started with its output on /dev/null, and one
# program (wineboot, which creates the prefix the first time, 8-17 s) run
# the same way: Wine's background services start with that program and
# inherit its stdio. Started by a test binary instead, they would hold go
# test's output pipe open and the run would end with "Test I/O incomplete".
mkdir -p "$WINEPREFIX"
"$WINESERVER" -k >/dev/null 2>&1 || true
"$WINESERVER" -p </dev/null >/dev/null 2>&1
trap '"$WINESERVER" -k >/dev/null 2>&1 || true' EXIT
if [[ -f $WINEPREFIX/.aemux-ready ]]; then
	"$WINE" wineboot </dev/null >/dev/null 2>&1
else
	"$WINE" wineboot -i </dev/null >/dev/null 2>&1
fi
sys32=$WINEPREFIX/drive_c/windows/system32
[[ -d $sys32 ]] || { echo "wineboot made no prefix in $WINEPREFIX"; exit 1; }
touch "$WINEPREFIX/.aemux-ready"

# Go 1.22 and later need ProcessPrng from bcryptprimitives.dll, which Wine
# 8.0 lacks: build the one-export forwarder from its source.
build=$(mktemp -d)
"$MINGW" -shared -nostdlib -Wl,--entry,DllMain -o "$build/bcryptprimitives.dll" \
	.ci/windows/bcryptprimitives.c .ci/windows/bcryptprimitives.def
cp "$build/bcryptprimitives.dll" "$sys32/"
rm -r "$build"
echo "wine prefix ready in $((SECONDS - t0)) s ($WINEPREFIX)"

t1=$SECONDS
out=$(mktemp)
status=0
GOOS=windows GOARCH=amd64 go test -count=1 -v -timeout 4m -exec "$PWD/.ci/windows/exec" \
	"${test_pkgs[@]}" >"$out" 2>&1 || status=$?
# The log keeps failures, skips and the package lines; passes are counted.
grep -vE '^(=== (RUN|PAUSE|CONT|NAME)|\s*--- PASS)' "$out" |
	grep -vE '^\s+\S+_test\.go:[0-9]+: (.*overshoot|server: )' || true
# Subtest counts per package and backend: in the root package a test counts
# for "iocp" (the only backend on Windows); elsewhere a scenario under a
# backend's subtest counts for that backend and suite ("iocp (TestPoller)",
# "iocp (TestLoop)"), and the rest for "-" (no backend involved).
awk '
	/^ *--- (PASS|FAIL|SKIP):/ {
		n = split($3, part, "/"); be = "-"
		for (i = 1; i <= n; i++) if (part[i] ~ /^(iocp|odd-reverse-split|broken-.*)$/) be = part[i] " (" part[1] ")"
		if (n == 2 && part[1] ~ /^Test(Poller|Loop|Conn)$/) next # the backend level of a suite: its scenarios count
		if (n == 3 && part[1] == "TestConn") next # and the mode level of RunConn
		count[be "|" $2]++
	}
	/^(ok|FAIL)[ \t]+github.com\// {
		pkg = $2; sub("github.com/aemux/mux", "mux", pkg)
		for (k in count) {
			split(k, f, "|"); if (pkg == "mux" && f[1] == "-") f[1] = "iocp"
			printf "windows: %-22s %-28s %-6s %d\n", pkg, f[1], f[2], count[k]
		}
		delete count
	}
' "$out" | sort
rm "$out"
echo "windows tests under Wine: $((SECONDS - t1)) s"

# aeserver.exe under Wine, driven from Linux by redis-cli and
# redis-benchmark; the benchmark's figures are Wine's, printed for the log.
t2=$SECONDS
exe_dir=$(mktemp -d)
out=$(mktemp)
GOOS=windows GOARCH=amd64 go build -o "$exe_dir/aeserver.exe" ./cmd/aeserver
AEMUX_AESERVER_EXE=$exe_dir/aeserver.exe go test -count=1 -v -timeout 3m -run '^TestWindowsServer$' \
	./cmd/aeserver >"$out" 2>&1 || status=1
grep -vE '^(=== (RUN|PAUSE|CONT|NAME))' "$out" || true
rm -r "$exe_dir" "$out"
echo "aeserver.exe under Wine with redis-cli and redis-benchmark: $((SECONDS - t2)) s"
exit "$status"
