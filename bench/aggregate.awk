# aggregate.awk — turns run.sh's results.csv into Markdown tables (mode=tables),
# a compact plain-text summary (mode=summary), the medians and paired ratios
# that cmd/benchchart draws (mode=medians: CSV), or one Markdown table of the
# median paired ratios of server CPU per request to the baseline, a row per
# config and test and a column per other server (mode=ratios: the table
# bench/results.md and the README show). It is the one place where medians
# and ratios are computed.
# Input rows (header line skipped):
#   round,config,test,server,rps,p50_ms,cpu_ticks,requests,wall_ms,listen_overflows,
#   server_core_ticks,client_core_ticks[,steal_ticks,tries[,server_sleeps[,sc_total,sc_read,
#   sc_write,sc_wait,sc_other]]] (newer columns: the steal of the measurement run.sh kept and its
#   tries, the server's voluntary context switches, and the system calls it made, all and by
#   class, NA where perf could not count them; older files lack them)
# Variables (-v): mode=tables|summary|medians|ratios, servers="redis a b" (column order), base=redis (ratio baseline),
#   configs="p1 p16 c1000", tests="ping_inline ping_mbulk set get",
#   clk=100 (clock ticks per second, getconf CLK_TCK),
#   cdesc_p1, cdesc_p16, cdesc_c1000 (redis-benchmark arguments, for row labels).
# Plain POSIX awk (mawk-safe): no asort, no gensub.

BEGIN { FS = "," }
$1 == "round" { next }
{
	r = $1; k = $2 SUBSEP $3 SUBSEP $4
	rounds[r] = 1
	if ($5 == "NA" || $5 == "") { failed[k]++; next }
	rps[k, r] = $5 + 0
	if ($8 > 0) nreq[$2] = $8
	if ($6 != "NA" && $6 != "") p50[k, r] = $6 + 0
	if ($7 != "NA" && $7 != "" && $8 > 0) {
		cpu[k, r] = ($7 / clk) * 1e6 / $8
		if (mint == "" || $7 + 0 < mint) mint = $7 + 0
	}
	if (NF >= 12 && $11 != "NA" && $11 != "" && $8 > 0) core[k, r] = ($11 / clk) * 1e6 / $8
	if (NF >= 12 && $12 != "NA" && $12 != "" && $9 > 0) cli[k, r] = 100 * ($12 / clk) / ($9 / 1000)
	if ($10 != "NA" && $10 != "") ovf[$2 SUBSEP $4] += $10
	if (NF >= 14 && $13 != "NA" && $13 != "") {
		nmeas++; stolen += $13; retried += ($14 > 1)
		if ($13 + 0 > maxsteal) maxsteal = $13 + 0
	}
	if (NF >= 15 && $15 != "NA" && $15 != "" && $8 > 0) sleeps[k, r] = 1000 * $15 / $8
	if (NF >= 20 && $16 != "NA" && $16 != "" && $8 > 0) {
		sc[k, r] = $16 / $8; scr[k, r] = $17 / $8; scw[k, r] = $18 / $8; scp[k, r] = $19 / $8; sco[k, r] = $20 / $8
	}
}

# collect(arr, k): copies arr[k, round] for every round present into v[1..n]; returns n.
function collect(arr, k,    r, n) {
	n = 0
	for (r = 1; r <= maxr; r++) if ((k, r) in arr) v[++n] = arr[k, r]
	return n
}
# pairs(arr, k, bk): v[] = arr[k, r] / arr[bk, r] for rounds where both exist; returns n.
function pairs(arr, k, bk,    r, n) {
	n = 0
	for (r = 1; r <= maxr; r++)
		if ((k, r) in arr && (bk, r) in arr && arr[bk, r] > 0) v[++n] = arr[k, r] / arr[bk, r]
	return n
}
function sortv(n,    i, j, t) {
	for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
}
function med(n) { sortv(n); return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
function median_of(arr, k,    n) { n = collect(arr, k); return n ? med(n) : "NA" }

function header(title, note,    i, s) {
	print "\n### " title "\n"
	if (note != "") print note "\n"
	s = "| config | test |"
	for (i = 1; i <= ns; i++) s = s " " sv[i] " |"
	print s
	s = "|---|---|"
	for (i = 1; i <= ns; i++) s = s "---:|"
	print s
}
function label(c) { return cf[c] " (" cd[cf[c]] ")" }
function row_label(c, t) { return "| " label(c) " | " toupper(ts[t]) " |" }
function key(c, t, i) { return cf[c] SUBSEP ts[t] SUBSEP sv[i] }

# A cell with the median of arr (format fmt) and, for non-baseline servers, the
# median [min–max] of the per-round paired ratios to the baseline.
function paired_cell(arr, c, t, i, fmt,    k, bk, m, n, lo, hi, s) {
	k = key(c, t, i); bk = cf[c] SUBSEP ts[t] SUBSEP base
	m = median_of(arr, k)
	if (m == "NA") return "NA"
	s = sprintf(fmt, m)
	if (sv[i] == base) return s
	n = pairs(arr, k, bk)
	if (n == 0) return s
	sortv(n); lo = v[1]; hi = v[n]
	return s sprintf(" (%.2f, %.2f–%.2f)", med(n), lo, hi)
}
# nonempty(arr): 1 when arr has an element (the older results.csv formats lack some columns).
function nonempty(arr,    x) { for (x in arr) return 1; return 0 }
# paired_table: a row per config and test, a paired_cell of arr per server.
function paired_table(arr, fmt,    c, t, i, line) {
	for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) {
		line = row_label(c, t)
		for (i = 1; i <= ns; i++) line = line " " paired_cell(arr, c, t, i, fmt) " |"
		print line
	}
}
# median_table: a row per config and test, the median of arr (format fmt) per server.
function median_table(arr, fmt,    c, t, i, m, line) {
	for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) {
		line = row_label(c, t)
		for (i = 1; i <= ns; i++) {
			m = median_of(arr, key(c, t, i))
			line = line (m == "NA" ? " NA |" : " " sprintf(fmt, m) " |")
		}
		print line
	}
}

# pad(s, w): s left-aligned in w columns (awk counts bytes: keep cells ASCII).
function pad(s, w) { return sprintf("%-" w "s", s) }
# summary_cell: the median of arr (format fmt) and, for non-baseline servers,
# the median of the per-round paired ratios to the baseline in parentheses.
function summary_cell(arr, c, t, i, fmt,    k, m, n, s) {
	k = key(c, t, i); m = median_of(arr, k)
	if (m == "NA") return (k in failed) ? "FAILED" : "NA"
	s = sprintf(fmt, m)
	if (sv[i] != base && (n = pairs(arr, k, cf[c] SUBSEP ts[t] SUBSEP base)) > 0) s = s sprintf(" (%.2f)", med(n))
	if (k in failed) s = s "!"
	return s
}
function summary_table(arr, title, fmt,    c, t, i, w, line) {
	print title
	line = pad("config", 8) pad("test", 13)
	for (i = 1; i <= ns; i++) {
		w[i] = length(sv[i]) + 2
		if (w[i] < 16) w[i] = 16
		line = line pad(sv[i], w[i])
	}
	sub(/ +$/, "", line); print line
	for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) {
		line = pad(cf[c], 8) pad(ts[t], 13)
		for (i = 1; i <= ns; i++) line = line pad(summary_cell(arr, c, t, i, fmt), w[i])
		sub(/ +$/, "", line); print line
	}
}
function summary(    c, t, i, k, s) {
	print "Summary: " nrounds " round(s); in parentheses the median of the per-round paired ratios to " base
	print ""
	summary_table(cpu, "Server CPU per request, microseconds, median (lower is better; the figure that tells servers apart)", "%.2f")
	print ""
	summary_table(rps, "Requests/second, median (client-bound on a 2-core machine: expect ratios near 1)", "%.0f")
	print ""
	if (nonempty(sc))
		summary_table(sc, "Server system calls per request, median (lower is better; counted by perf)", "%.3f")
	else
		print "System calls per request: not counted (SYSCALLS=0, no perf, or the kernel refused; see the run's log)"
	s = ""
	for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) for (i = 1; i <= ns; i++)
		if ((k = key(c, t, i)) in failed) s = s " " sv[i] "/" cf[c] "/" ts[t] "=" failed[k]
	if (s != "") print "\n! failed measurements (server/config/test=count):" s
	if (retried > 0 || stolen > 0)
		print "\nSteal: " retried " of " nmeas " measurements were repeated because the hypervisor stole CPU time; the recorded ones lost " stolen " ticks in all, at most " maxsteal " in one."
	if (mint != "" && mint < 100)
		print "\nNote: some measurements took only " mint " clock ticks of server CPU (1 tick = " 1000 / clk " ms), so CPU per request is coarse; use larger N_* for figures to rely on."
}

# medians: one CSV row per metric (cpu, rps, syscalls), config, test and server
# with a figure, in the order of configs, tests and servers: the baseline, the
# median over the rounds and how many, the median of the per-round ratios to
# the baseline and how many pairs (NA and 0 when there are none), and the
# config's requests per test.
function medians(    names, nm, a, c, t, i, k, bk, m, n, np, r) {
	print "metric,config,test,server,base,median,rounds,ratio,pairs,requests"
	nm = split("cpu rps syscalls", names, " ")
	for (a = 1; a <= nm; a++) for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) for (i = 1; i <= ns; i++) {
		k = key(c, t, i); bk = cf[c] SUBSEP ts[t] SUBSEP base
		if (names[a] == "cpu") { n = collect(cpu, k); if (n) m = med(n); np = pairs(cpu, k, bk) }
		else if (names[a] == "rps") { n = collect(rps, k); if (n) m = med(n); np = pairs(rps, k, bk) }
		else { n = collect(sc, k); if (n) m = med(n); np = pairs(sc, k, bk) }
		if (n == 0) continue
		r = np ? med(np) : "NA"
		printf "%s,%s,%s,%s,%s,%.10g,%d,%s,%d,%s\n", names[a], cf[c], ts[t], sv[i], base, m, n, \
			(r == "NA" ? r : sprintf("%.10g", r)), np, ((cf[c] in nreq) ? nreq[cf[c]] : "NA")
	}
}

# ratios prints the median of the per-round paired ratios of server CPU per
# request to the baseline: rows config and test, columns the other servers.
function ratios(    c, t, i, n, line, sep) {
	line = "| config, test |"; sep = "|---|"
	for (i = 1; i <= ns; i++) if (sv[i] != base) { line = line " " sv[i] " |"; sep = sep "---:|" }
	print line
	print sep
	for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) {
		line = "| " (cd[cf[c]] != "" ? cd[cf[c]] : cf[c]) " " toupper(ts[t]) " |"
		sub(/ -n [0-9]+/, "", line)
		for (i = 1; i <= ns; i++) {
			if (sv[i] == base) continue
			n = pairs(cpu, key(c, t, i), cf[c] SUBSEP ts[t] SUBSEP base)
			line = line (n ? sprintf(" %.2f |", med(n)) : " NA |")
		}
		print line
	}
}

END {
	ns = split(servers, sv, " ")
	ncf = split(configs, cf, " ")
	nt = split(tests, ts, " ")
	cd["p1"] = cdesc_p1; cd["p16"] = cdesc_p16; cd["c1000"] = cdesc_c1000
	maxr = 0; nrounds = 0
	for (r in rounds) { nrounds++; if (r + 0 > maxr) maxr = r + 0 }
	if (mode == "summary") { summary(); exit }
	if (mode == "medians") { medians(); exit }
	if (mode == "ratios") { ratios(); exit }

	header("Requests/second: median over " nrounds " rounds (ratio of medians to " base ")")
	for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) {
		line = row_label(c, t)
		bm = median_of(rps, cf[c] SUBSEP ts[t] SUBSEP base)
		for (i = 1; i <= ns; i++) {
			k = key(c, t, i); m = median_of(rps, k)
			if (m == "NA") cell = "NA"
			else if (bm == "NA" || bm == 0) cell = sprintf("%.0f", m)
			else cell = sprintf("%.0f (%.2f)", m, m / bm)
			if (k in failed) cell = cell " [" failed[k] " failed]"
			line = line " " cell " |"
		}
		print line
	}

	header("Requests/second: spread over the rounds, min–max (max−min as % of median)")
	for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) {
		line = row_label(c, t)
		for (i = 1; i <= ns; i++) {
			n = collect(rps, key(c, t, i))
			if (n == 0) { line = line " NA |"; continue }
			m = med(n)
			line = line sprintf(" %.0f–%.0f (%.0f%%) |", v[1], v[n], 100 * (v[n] - v[1]) / m)
		}
		print line
	}

	header("Requests/second, paired: per-round ratio to " base " (same round, same test); median, min–max", \
		"Each round measures the servers back to back, so a ratio taken inside one round cancels drift of the machine between rounds.")
	for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) {
		line = row_label(c, t)
		bk = cf[c] SUBSEP ts[t] SUBSEP base
		for (i = 1; i <= ns; i++) {
			if (sv[i] == base) { line = line " 1 |"; continue }
			n = pairs(rps, key(c, t, i), bk)
			if (n == 0) { line = line " NA |"; continue }
			sortv(n)
			line = line sprintf(" %.2f (%.2f–%.2f) |", med(n), v[1], v[n])
		}
		print line
	}

	header("Server process CPU per request, µs: median (paired ratio to " base ": median, min–max)", \
		"user+sys time of the server process over the test (/proc/PID/stat) divided by the requests. Lower is better.")
	paired_table(cpu, "%.2f")

	if (nonempty(core)) {
		header("Server core busy time per request, µs: median (paired ratio to " base ": median, min–max)", \
			"All non-idle time of the server's CPU (user, system, irq, softirq from /proc/stat) over the test, divided by the requests. Unlike the row above it includes the softirq work of loopback TCP delivery that the kernel does not charge to the process. Lower is better.")
		paired_table(core, "%.2f")
		header("Client core utilisation during the test, % (median)", \
			"Near 100% means redis-benchmark, not the server, limits requests/second.")
		median_table(cli, "%.0f")
	}

	if (nonempty(sleeps)) {
		header("Server sleeps per 1,000 requests: median (paired ratio to " base ": median, min–max)", \
			"Voluntary context switches of the server's threads over the test: how often it blocked waiting for work. On a virtual machine each wake-up of a sleeping server costs the client a trip through the hypervisor, so fewer sleeps let the same client send more requests/second.")
		paired_table(sleeps, "%.1f")
	}

	if (nonempty(sc)) {
		header("Server system calls per request: median (paired ratio to " base ": median, min–max)", \
			"Every system call the server's threads made during a repeat of the test (perf stat on the raw_syscalls:sys_enter tracepoint; run.sh counts in the first SC_ROUNDS rounds), divided by the requests. Reads and writes per request are fixed by the protocol and the server; readiness waits follow how often the server runs out of work, so a server that answers sooner (and lets the client send sooner) waits more often per request. Lower is better.")
		paired_table(sc, "%.3f")
		header("Server system calls per request by kind: read / write / readiness wait / other (medians)", \
			"read: read, readv, recvfrom, recvmsg; write: write, writev, sendto, sendmsg; wait: epoll_wait, epoll_pwait, epoll_pwait2, poll, ppoll, select, pselect6; other: the rest (accept, epoll_ctl, close, and the Go runtime's futex and nanosleep). run.sh's syscalls.log has every counted call by name.")
		for (c = 1; c <= ncf; c++) for (t = 1; t <= nt; t++) {
			line = row_label(c, t)
			for (i = 1; i <= ns; i++) {
				k = key(c, t, i)
				if (median_of(sc, k) == "NA") { line = line " NA |"; continue }
				line = line sprintf(" %.3f / %.3f / %.3f / %.3f |", median_of(scr, k), median_of(scw, k), median_of(scp, k), median_of(sco, k))
			}
			print line
		}
	} else print "\nSystem calls per request: not counted in this run (SYSCALLS=0, no perf, or the kernel refused)."

	header("p50 latency reported by redis-benchmark, ms (median)")
	median_table(p50, "%.3f")

	s = "\nListen-queue overflows (TcpExt ListenOverflows, system-wide delta summed over each server's runs):"
	for (c = 1; c <= ncf; c++) {
		s = s " " cf[c] ":"
		for (i = 1; i <= ns; i++) s = s " " sv[i] "=" (ovf[cf[c] SUBSEP sv[i]] + 0)
		s = s (c < ncf ? ";" : ".")
	}
	print s
}
