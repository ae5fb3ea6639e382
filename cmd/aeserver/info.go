package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// version is what INFO reports as redis_version: the Redis release whose
// replies aeserver follows, for clients that check it.
const version = "7.0.0"

// INFO [section ...]: "server", "clients", "stats", "keyspace"; "all",
// "everything" and "default" (and no argument) give all four.
func infoCmd(c *client, argv [][]byte, _ int64) {
	want := map[string]bool{}
	for _, a := range argv[1:] {
		want[strings.ToLower(string(a))] = true
	}
	all := len(want) == 0 || want["all"] || want["everything"] || want["default"]
	var b strings.Builder
	s := c.lp.srv
	section := func(name string, lines func()) {
		if !all && !want[strings.ToLower(name)] {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		fmt.Fprintf(&b, "# %s\r\n", name)
		lines()
	}
	field := func(k string, v any) { fmt.Fprintf(&b, "%s:%v\r\n", k, v) }
	section("Server", func() {
		up := time.Since(s.start)
		field("redis_version", version)
		field("server_name", "aeserver")
		field("redis_mode", "standalone")
		field("os", runtime.GOOS+" "+runtime.GOARCH)
		field("arch_bits", strconv.IntSize)
		field("multiplexing_api", c.lp.l.ApiName())
		field("event_loops", len(s.loops))
		field("go_version", runtime.Version())
		field("process_id", os.Getpid())
		field("tcp_port", s.port)
		field("uptime_in_seconds", int64(up/time.Second))
		field("uptime_in_days", int64(up/(24*time.Hour)))
		field("hz", s.cfg.hz)
		field("executable", os.Args[0])
		field("config_file", "")
	})
	section("Clients", func() {
		field("connected_clients", s.conns.Clients())
		field("maxclients", s.cfg.maxClients)
		field("client_recent_max_input_buffer", 0)
		field("blocked_clients", 0)
	})
	section("Stats", func() {
		c.lp.publish() // this loop's counters, up to this very command
		cmds, in, out := s.totals()
		st := s.conns.Stats()
		d := s.db
		expired, hits, misses := d.expired, d.hits, d.misses
		field("total_connections_received", st.Accepted)
		field("total_commands_processed", cmds)
		field("instantaneous_ops_per_sec", s.opsPerSec.Load())
		field("total_net_input_bytes", in)
		field("total_net_output_bytes", out)
		field("rejected_connections", st.Rejected)
		field("expired_keys", expired)
		field("evicted_keys", 0)
		field("evicted_clients", st.Evicted)
		field("keyspace_hits", hits)
		field("keyspace_misses", misses)
	})
	section("Keyspace", func() {
		d := s.db
		keys, expires := len(d.keys), len(d.volatile)
		if keys > 0 {
			fmt.Fprintf(&b, "db0:keys=%d,expires=%d,avg_ttl=0\r\n", keys, expires)
		}
	})
	c.addBulkString(b.String())
}

// configParams are the parameters CONFIG GET knows, with their values.
func (s *server) configParams() [][2]string {
	bind, port := "", "0"
	if s.cfg.addr != "" {
		if i := strings.LastIndexByte(s.cfg.addr, ':'); i >= 0 {
			bind = strings.Trim(s.cfg.addr[:i], "[]")
		}
		port = strconv.Itoa(s.port)
	}
	perm := ""
	if s.cfg.unixPath != "" {
		perm = strconv.FormatUint(uint64(s.cfg.unixPerm), 8)
	}
	return [][2]string{
		{"appendonly", "no"},
		{"bind", bind},
		{"client-query-buffer-limit", strconv.Itoa(s.cfg.maxQuery)},
		{"databases", "1"},
		{"hz", strconv.Itoa(s.cfg.hz)},
		{"maxclients", strconv.Itoa(s.cfg.maxClients)},
		{"maxmemory", "0"},
		{"maxmemory-clients", strconv.FormatInt(s.cfg.maxClientMem, 10)},
		{"port", port},
		{"proto-max-bulk-len", strconv.FormatInt(s.cfg.maxBulk, 10)},
		{"save", ""},
		{"timeout", strconv.FormatInt(int64(s.cfg.idle/time.Second), 10)},
		{"unixsocket", s.cfg.unixPath},
		{"unixsocketperm", perm},
	}
}

// CONFIG GET pattern [pattern ...]: name/value pairs, names matched as
// Redis's glob-style patterns, without case.
func configGetCmd(c *client, argv [][]byte, _ int64) {
	var out []string
	for _, kv := range c.lp.srv.configParams() {
		for _, pat := range argv[2:] {
			if globMatch(strings.ToLower(string(pat)), kv[0]) {
				out = append(out, kv[0], kv[1])
				break
			}
		}
	}
	c.addArray(len(out))
	for _, s := range out {
		c.addBulkString(s)
	}
}

// globMatch is Redis's stringmatchlen: * ? [abc] [^a-z] and \ escapes.
func globMatch(pat, s string) bool {
	for len(pat) > 0 {
		switch pat[0] {
		case '*':
			for len(pat) > 1 && pat[1] == '*' {
				pat = pat[1:]
			}
			if len(pat) == 1 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if globMatch(pat[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			s = s[1:]
		case '[':
			if len(s) == 0 {
				return false
			}
			p := pat[1:]
			not := len(p) > 0 && p[0] == '^'
			if not {
				p = p[1:]
			}
			match := false
			for len(p) > 0 && p[0] != ']' {
				switch {
				case p[0] == '\\' && len(p) >= 2:
					p = p[1:]
					match = match || p[0] == s[0]
				case len(p) >= 3 && p[1] == '-':
					lo, hi := p[0], p[2]
					if lo > hi {
						lo, hi = hi, lo
					}
					match = match || (s[0] >= lo && s[0] <= hi)
					p = p[2:]
				default:
					match = match || p[0] == s[0]
				}
				p = p[1:]
			}
			if len(p) == 0 { // no closing ']': Redis treats the end as one
				pat = "]"
			} else {
				pat = p
			}
			if match == not {
				return false
			}
			s = s[1:]
		case '\\':
			if len(pat) >= 2 {
				pat = pat[1:]
			}
			fallthrough
		default:
			if len(s) == 0 || pat[0] != s[0] {
				return false
			}
			s = s[1:]
		}
		pat = pat[1:]
	}
	return len(s) == 0
}

// sortedCommands lists the top-level commands by name.
func sortedCommands() []*command {
	cmds := make([]*command, 0, len(commands))
	for _, c := range commands {
		cmds = append(cmds, c)
	}
	slices.SortFunc(cmds, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	return cmds
}

// addCommandInfo writes one COMMAND entry as Redis 7 does: name, arity,
// flags, first key, last key, step, ACL categories, tips, key
// specifications, subcommands.
func (c *client) addCommandInfo(cmd *command) {
	c.addArray(10)
	c.addBulkString(cmd.name)
	c.addInt(int64(cmd.arity))
	c.addArray(len(cmd.flags))
	for _, f := range cmd.flags {
		c.addStatus(f)
	}
	c.addInt(int64(cmd.firstKey))
	c.addInt(int64(cmd.lastKey))
	c.addInt(int64(cmd.step))
	c.addArray(0) // ACL categories
	c.addArray(0) // tips
	c.addArray(0) // key specifications
	subs := make([]*command, 0, len(cmd.sub))
	for _, s := range cmd.sub {
		subs = append(subs, s)
	}
	slices.SortFunc(subs, func(a, b *command) int { return strings.Compare(a.name, b.name) })
	c.addArray(len(subs))
	for _, s := range subs {
		c.addCommandInfo(s)
	}
}

// COMMAND: every command's description.
func commandCmd(c *client, _ [][]byte, _ int64) {
	cmds := sortedCommands()
	c.addArray(len(cmds))
	for _, cmd := range cmds {
		c.addCommandInfo(cmd)
	}
}

// COMMAND COUNT
func commandCountCmd(c *client, _ [][]byte, _ int64) { c.addInt(int64(len(commands))) }

// COMMAND INFO name [name ...]: a nil entry for an unknown name.
func commandInfoCmd(c *client, argv [][]byte, _ int64) {
	c.addArray(len(argv) - 2)
	for _, name := range argv[2:] {
		if cmd := lookup(commands, name); cmd != nil {
			c.addCommandInfo(cmd)
		} else {
			c.lp.out = append(c.lp.out, "*-1\r\n"...)
		}
	}
}
