package main

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/aemux/mux/internal/resp"
)

// command is one entry of the command table (struct redisCommand).
type command struct {
	name  string // lower case; "config|get" for a subcommand
	arity int    // as in Redis: n exactly, -n at least n arguments, the name included
	proc  func(c *client, argv [][]byte, now int64)
	flags []string
	// Key positions for COMMAND: first, last (-1: the last argument), step.
	firstKey, lastKey, step int
	sub                     map[string]*command // a container command's subcommands
}

// Replies Redis sends often, as in its shared objects.
var (
	okReply       = "OK"
	errSyntax     = "ERR syntax error"
	errNotInt     = "ERR value is not an integer or out of range"
	errWrongType  = "WRONGTYPE Operation against a key holding the wrong kind of value"
	errOverflow   = "ERR increment or decrement would overflow"
	errOutOfRange = "ERR value is out of range, must be positive"
	errClientName = "ERR Client names cannot contain spaces, newlines or special characters."
	errDBIndex    = "ERR DB index is out of range"
)

// commands is the command table, by lower-case name.
var commands map[string]*command

func init() {
	table := []*command{
		{name: "ping", arity: -1, proc: pingCmd, flags: []string{"fast", "sentinel"}},
		{name: "echo", arity: 2, proc: echoCmd, flags: []string{"fast"}},
		{name: "set", arity: -3, proc: setCmd, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "get", arity: 2, proc: getCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "del", arity: -2, proc: delCmd, flags: []string{"write"}, firstKey: 1, lastKey: -1, step: 1},
		{name: "exists", arity: -2, proc: existsCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: -1, step: 1},
		{name: "incr", arity: 2, proc: incrCmd, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "decr", arity: 2, proc: decrCmd, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "incrby", arity: 3, proc: incrbyCmd, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "decrby", arity: 3, proc: decrbyCmd, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "mget", arity: -2, proc: mgetCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: -1, step: 1},
		{name: "mset", arity: -3, proc: msetCmd, flags: []string{"write", "denyoom"}, firstKey: 1, lastKey: -1, step: 2},
		{name: "expire", arity: -3, proc: expireCmd, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "pexpire", arity: -3, proc: pexpireCmd, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "ttl", arity: 2, proc: ttlCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "pttl", arity: 2, proc: pttlCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "persist", arity: 2, proc: persistCmd, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "dbsize", arity: 1, proc: dbsizeCmd, flags: []string{"readonly", "fast"}},
		{name: "flushall", arity: -1, proc: flushallCmd, flags: []string{"write"}},
		{name: "flushdb", arity: -1, proc: flushallCmd, flags: []string{"write"}},
		{name: "lpush", arity: -3, proc: lpushCmd, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "rpush", arity: -3, proc: rpushCmd, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "lpop", arity: -2, proc: lpopCmd, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "rpop", arity: -2, proc: rpopCmd, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "llen", arity: 2, proc: llenCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "lrange", arity: 4, proc: lrangeCmd, flags: []string{"readonly"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "sadd", arity: -3, proc: saddCmd, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "scard", arity: 2, proc: scardCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "spop", arity: -2, proc: spopCmd, flags: []string{"write", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "hset", arity: -4, proc: hsetCmd, flags: []string{"write", "denyoom", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "hget", arity: 3, proc: hgetCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "type", arity: 2, proc: typeCmd, flags: []string{"readonly", "fast"}, firstKey: 1, lastKey: 1, step: 1},
		{name: "info", arity: -1, proc: infoCmd, flags: []string{"loading", "stale"}},
		{name: "select", arity: 2, proc: selectCmd, flags: []string{"loading", "stale", "fast"}},
		{name: "quit", arity: -1, proc: quitCmd, flags: []string{"allow_busy", "noscript", "loading", "stale", "fast"}},
		{name: "config", arity: -2, sub: subTable("config",
			&command{name: "get", arity: -3, proc: configGetCmd, flags: []string{"admin", "noscript", "loading", "stale"}})},
		{name: "client", arity: -2, sub: subTable("client",
			&command{name: "setname", arity: 3, proc: clientSetnameCmd, flags: []string{"noscript", "loading", "stale"}},
			&command{name: "getname", arity: 2, proc: clientGetnameCmd, flags: []string{"noscript", "loading", "stale"}},
			&command{name: "id", arity: 2, proc: clientIDCmd, flags: []string{"noscript", "loading", "stale"}})},
		{name: "command", arity: -1, proc: commandCmd, flags: []string{"loading", "stale"}, sub: subTable("command",
			&command{name: "count", arity: 2, proc: commandCountCmd, flags: []string{"loading", "stale"}},
			&command{name: "info", arity: -2, proc: commandInfoCmd, flags: []string{"loading", "stale"}})},
	}
	commands = make(map[string]*command, len(table))
	for _, c := range table {
		commands[c.name] = c
	}
}

func subTable(parent string, subs ...*command) map[string]*command {
	m := make(map[string]*command, len(subs))
	for _, s := range subs {
		key := s.name
		s.name = parent + "|" + s.name
		m[key] = s
	}
	return m
}

// lookup finds a command by name, in any case, without allocating.
func lookup(table map[string]*command, name []byte) *command {
	var buf [32]byte
	if len(name) > len(buf) {
		return nil
	}
	for i, ch := range name {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[i] = ch
	}
	return table[string(buf[:len(name)])]
}

// cstr is b up to its first NUL byte: what C's "%s" prints of it.
func cstr(b []byte, limit int) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	if len(b) > limit {
		b = b[:limit]
	}
	return b
}

// call looks the command up, checks its arity and runs it
// (processCommand, call).
func (c *client) call(argv [][]byte, now int64) {
	var cmd *command
	if name := argv[0]; len(name) == int(c.lastLen) && string(name) == string(c.lastName[:c.lastLen]) {
		cmd = c.lastCmd // a client tends to repeat itself: skip the lowercasing and the map
	} else if cmd = lookup(commands, name); cmd != nil && len(name) <= len(c.lastName) {
		c.lastCmd, c.lastLen = cmd, uint8(copy(c.lastName[:], name))
	}
	if cmd == nil {
		c.unknownCommand(argv)
		return
	}
	if cmd.sub != nil && len(argv) >= 2 {
		sub := lookup(cmd.sub, argv[1])
		if sub == nil {
			c.addErrorf("ERR unknown subcommand '%s'. Try %s HELP.", cstr(argv[1], 128), strings.ToUpper(cmd.name))
			return
		}
		cmd = sub
	}
	if (cmd.arity > 0 && cmd.arity != len(argv)) || len(argv) < -cmd.arity {
		c.addError("ERR wrong number of arguments for '" + cmd.name + "' command")
		return
	}
	c.lp.ncmds++
	cmd.proc(c, argv, now)
}

func (c *client) unknownCommand(argv [][]byte) {
	var args []byte
	for _, a := range argv[1:] {
		if len(args) >= 128 {
			break
		}
		args = append(args, '\'')
		args = append(args, cstr(a, 128-len(args)+1)...)
		args = append(args, '\'', ' ')
	}
	c.addErrorf("ERR unknown command '%s', with args beginning with: %s", cstr(argv[0], 128), args)
}

// Reply helpers.

func (c *client) addError(msg string)          { c.lp.out = resp.AppendError(c.lp.out, msg) }
func (c *client) addStatus(s string)           { c.lp.out = resp.AppendSimple(c.lp.out, s) }
func (c *client) addInt(n int64)               { c.lp.out = resp.AppendInt(c.lp.out, n) }
func (c *client) addBulk(b []byte)             { c.lp.out = resp.AppendBulk(c.lp.out, b) }
func (c *client) addBulkString(s string)       { c.lp.out = resp.AppendBulkString(c.lp.out, s) }
func (c *client) addNull()                     { c.lp.out = resp.AppendNull(c.lp.out) }
func (c *client) addArray(n int)               { c.lp.out = resp.AppendArray(c.lp.out, n) }
func (c *client) addErrorf(f string, a ...any) { c.addError(fmt.Sprintf(f, a...)) }

// Argument helpers.

func eqFold(b []byte, s string) bool { return len(b) == len(s) && strings.EqualFold(string(b), s) }

// intArg parses an integer argument as getLongLongFromObjectOrReply does.
func (c *client) intArg(b []byte, msg string) (int64, bool) {
	v, ok := resp.ParseInt(b)
	if !ok {
		if msg == "" {
			msg = errNotInt
		}
		c.addError(msg)
	}
	return v, ok
}

// PING [message]
func pingCmd(c *client, argv [][]byte, _ int64) {
	switch len(argv) {
	case 1:
		c.addStatus("PONG")
	case 2:
		c.addBulk(argv[1])
	default:
		c.addError("ERR wrong number of arguments for 'ping' command")
	}
}

// ECHO message
func echoCmd(c *client, argv [][]byte, _ int64) { c.addBulk(argv[1]) }

// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT ts | PXAT ms-ts | KEEPTTL]
func setCmd(c *client, argv [][]byte, now int64) {
	const (
		fNX = 1 << iota
		fXX
		fGet
		fKeepTTL
		fEX
		fPX
		fEXAT
		fPXAT
	)
	flags := 0
	var expire []byte
	for j := 3; j < len(argv); j++ {
		opt := argv[j]
		hasNext := j < len(argv)-1
		switch {
		case eqFold(opt, "nx") && flags&fXX == 0:
			flags |= fNX
		case eqFold(opt, "xx") && flags&fNX == 0:
			flags |= fXX
		case eqFold(opt, "get"):
			flags |= fGet
		case eqFold(opt, "keepttl") && flags&(fEX|fPX|fEXAT|fPXAT) == 0:
			flags |= fKeepTTL
		case eqFold(opt, "ex") && flags&(fKeepTTL|fEXAT|fPX|fPXAT) == 0 && hasNext:
			flags |= fEX
			expire = argv[j+1]
			j++
		case eqFold(opt, "px") && flags&(fKeepTTL|fEX|fEXAT|fPXAT) == 0 && hasNext:
			flags |= fPX
			expire = argv[j+1]
			j++
		case eqFold(opt, "exat") && flags&(fKeepTTL|fEX|fPX|fPXAT) == 0 && hasNext:
			flags |= fEXAT
			expire = argv[j+1]
			j++
		case eqFold(opt, "pxat") && flags&(fKeepTTL|fEX|fEXAT|fPX) == 0 && hasNext:
			flags |= fPXAT
			expire = argv[j+1]
			j++
		default:
			c.addError(errSyntax)
			return
		}
	}
	var at int64
	if expire != nil {
		ms, ok := c.intArg(expire, "")
		if !ok {
			return
		}
		seconds := flags&(fEX|fEXAT) != 0
		if ms <= 0 || (seconds && ms > math.MaxInt64/1000) {
			c.addError("ERR invalid expire time in 'set' command")
			return
		}
		if seconds {
			ms *= 1000
		}
		if flags&(fEX|fPX) != 0 {
			if ms > math.MaxInt64-now {
				c.addError("ERR invalid expire time in 'set' command")
				return
			}
			ms += now
		}
		at = ms
	}
	c.set(argv[1], argv[2], now, at, flags&fNX != 0, flags&fXX != 0, flags&fGet != 0, flags&fKeepTTL != 0)
}

// set stores key once SET's options are parsed.
func (c *client) set(key, val []byte, now, at int64, nx, xx, get, keepTTL bool) {
	d := c.lp.srv.db
	o := d.lookup(key, now)
	if get {
		switch {
		case o == nil:
			c.addNull()
		case o.kind != kString:
			c.addError(errWrongType)
			return
		default:
			c.addBulk(o.str)
		}
	}
	if (nx && o != nil) || (xx && o == nil) {
		if !get {
			c.addNull()
		}
		return
	}
	o = d.setString(key, o, val, keepTTL)
	if at != 0 {
		d.setExpire(key, o, at)
	}
	if !get {
		c.addStatus(okReply)
	}
}

// GET key
func getCmd(c *client, argv [][]byte, now int64) {
	if o := c.readOrNull(argv[1], now, kString); o != nil {
		c.addBulk(o.str)
	}
}

// readOrNull is Redis's lookupKeyReadOrReply(c, key, null) then checkType:
// key's value if it is of kind k, counting a keyspace hit or miss; nil
// after a null reply (no key) or a WRONGTYPE one.
func (c *client) readOrNull(key []byte, now int64, k kind) *object {
	o := c.lp.srv.db.lookupRead(key, now)
	switch {
	case o == nil:
		c.addNull()
	case o.kind != k:
		c.addError(errWrongType)
		o = nil
	}
	return o
}

// DEL key [key ...]
func delCmd(c *client, argv [][]byte, now int64) {
	d := c.lp.srv.db
	n := int64(0)
	for _, k := range argv[1:] {
		if d.lookup(k, now) != nil && d.remove(string(k)) {
			n++
		}
	}
	c.addInt(n)
}

// EXISTS key [key ...]
func existsCmd(c *client, argv [][]byte, now int64) {
	d := c.lp.srv.db
	n := int64(0)
	for _, k := range argv[1:] {
		if d.lookup(k, now) != nil {
			n++
		}
	}
	c.addInt(n)
}

func incrCmd(c *client, argv [][]byte, now int64) { c.incrBy(argv[1], 1, now) }
func decrCmd(c *client, argv [][]byte, now int64) { c.incrBy(argv[1], -1, now) }

func incrbyCmd(c *client, argv [][]byte, now int64) {
	if by, ok := c.intArg(argv[2], ""); ok {
		c.incrBy(argv[1], by, now)
	}
}

func decrbyCmd(c *client, argv [][]byte, now int64) {
	by, ok := c.intArg(argv[2], "")
	if !ok {
		return
	}
	if by == math.MinInt64 {
		c.addError("ERR decrement would overflow")
		return
	}
	c.incrBy(argv[1], -by, now)
}

// incrBy is incrDecrCommand: the value must be a string holding an int64;
// the result keeps the key's TTL.
func (c *client) incrBy(key []byte, by int64, now int64) {
	d := c.lp.srv.db
	o := d.lookup(key, now)
	var v int64
	if o != nil {
		if o.kind != kString {
			c.addError(errWrongType)
			return
		}
		var ok bool
		if v, ok = resp.ParseInt(o.str); !ok {
			c.addError(errNotInt)
			return
		}
	}
	if (by < 0 && v < 0 && by < math.MinInt64-v) || (by > 0 && v > 0 && by > math.MaxInt64-v) {
		c.addError(errOverflow)
		return
	}
	v += by
	var tmp [20]byte
	d.setString(key, o, strconv.AppendInt(tmp[:0], v, 10), true)
	c.addInt(v)
}

// MGET key [key ...]
func mgetCmd(c *client, argv [][]byte, now int64) {
	d := c.lp.srv.db
	c.addArray(len(argv) - 1)
	for _, k := range argv[1:] {
		if o := d.lookupRead(k, now); o != nil && o.kind == kString {
			c.addBulk(o.str)
		} else {
			c.addNull()
		}
	}
}

// MSET key value [key value ...]
func msetCmd(c *client, argv [][]byte, now int64) {
	if len(argv)%2 == 0 {
		c.addError("ERR wrong number of arguments for 'mset' command")
		return
	}
	d := c.lp.srv.db
	for j := 1; j < len(argv); j += 2 {
		d.setString(argv[j], d.lookup(argv[j], now), argv[j+1], false)
	}
	c.addStatus(okReply)
}

func expireCmd(c *client, argv [][]byte, now int64)  { c.expire(argv, now, 1000, "expire") }
func pexpireCmd(c *client, argv [][]byte, now int64) { c.expire(argv, now, 1, "pexpire") }

// expire is expireGenericCommand: EXPIRE key seconds [NX | XX | GT | LT].
func (c *client) expire(argv [][]byte, now, unit int64, name string) {
	const (
		fNX = 1 << iota
		fXX
		fGT
		fLT
	)
	flags := 0
	for _, opt := range argv[3:] {
		switch {
		case eqFold(opt, "nx"):
			flags |= fNX
		case eqFold(opt, "xx"):
			flags |= fXX
		case eqFold(opt, "gt"):
			flags |= fGT
		case eqFold(opt, "lt"):
			flags |= fLT
		default:
			c.addErrorf("ERR Unsupported option %s", cstr(opt, math.MaxInt))
			return
		}
	}
	if flags&fNX != 0 && flags&(fXX|fGT|fLT) != 0 {
		c.addError("ERR NX and XX, GT or LT options at the same time are not compatible")
		return
	}
	if flags&fGT != 0 && flags&fLT != 0 {
		c.addError("ERR GT and LT options at the same time are not compatible")
		return
	}
	when, ok := c.intArg(argv[2], "")
	if !ok {
		return
	}
	invalid := "ERR invalid expire time in '" + name + "' command"
	if unit == 1000 {
		if when > math.MaxInt64/1000 || when < math.MinInt64/1000 {
			c.addError(invalid)
			return
		}
		when *= 1000
	}
	if when > math.MaxInt64-now {
		c.addError(invalid)
		return
	}
	when += now
	d := c.lp.srv.db
	o := d.lookup(argv[1], now)
	if o == nil {
		c.addInt(0)
		return
	}
	cur := o.expireAt // 0: none, which GT treats as infinite
	if (flags&fNX != 0 && cur != 0) || (flags&fXX != 0 && cur == 0) ||
		(flags&fGT != 0 && (cur == 0 || when <= cur)) || (flags&fLT != 0 && cur != 0 && when >= cur) {
		c.addInt(0)
		return
	}
	if when <= now {
		d.remove(string(argv[1]))
		d.expired++
	} else {
		d.setExpire(argv[1], o, when)
	}
	c.addInt(1)
}

func ttlCmd(c *client, argv [][]byte, now int64)  { c.ttl(argv[1], now, false) }
func pttlCmd(c *client, argv [][]byte, now int64) { c.ttl(argv[1], now, true) }

// ttl is ttlGenericCommand: -2 without the key, -1 without a TTL.
func (c *client) ttl(key []byte, now int64, ms bool) {
	d := c.lp.srv.db
	o := d.lookupRead(key, now)
	switch {
	case o == nil:
		c.addInt(-2)
	case o.expireAt == 0:
		c.addInt(-1)
	default:
		t := max(o.expireAt-now, 0)
		if !ms {
			t = (t + 500) / 1000
		}
		c.addInt(t)
	}
}

// PERSIST key
func persistCmd(c *client, argv [][]byte, now int64) {
	d := c.lp.srv.db
	o := d.lookup(argv[1], now)
	n := int64(0)
	if o != nil && o.expireAt != 0 {
		d.setExpire(argv[1], o, 0)
		n = 1
	}
	c.addInt(n)
}

// DBSIZE
func dbsizeCmd(c *client, _ [][]byte, _ int64) {
	d := c.lp.srv.db
	n := len(d.keys)
	c.addInt(int64(n))
}

// FLUSHALL [ASYNC | SYNC]
func flushallCmd(c *client, argv [][]byte, _ int64) {
	if len(argv) > 2 || (len(argv) == 2 && !eqFold(argv[1], "sync") && !eqFold(argv[1], "async")) {
		c.addError(errSyntax)
		return
	}
	d := c.lp.srv.db
	d.flush()
	c.addStatus(okReply)
}

// typed returns key's value if it is of kind k, creating it with make when
// it is missing and make is not nil; ok is false after a WRONGTYPE reply.
func (c *client) typed(key []byte, now int64, k kind, make func() *object) (o *object, ok bool) {
	d := c.lp.srv.db
	o = d.lookup(key, now)
	if o == nil {
		if make != nil {
			o = make()
			d.add(key, o)
		}
		return o, true
	}
	if o.kind != k {
		c.addError(errWrongType)
		return nil, false
	}
	return o, true
}

func newList() *object { return &object{kind: kList} }
func newSet() *object  { return &object{kind: kSet, set: make(map[string]struct{})} }
func newHash() *object { return &object{kind: kHash, hash: make(map[string][]byte)} }

// listFor returns key's list, creating it when create is set; ok is false
// after a WRONGTYPE reply.
func (c *client) listFor(key []byte, now int64, create bool) (*object, bool) {
	if create {
		return c.typed(key, now, kList, newList)
	}
	return c.typed(key, now, kList, nil)
}

func lpushCmd(c *client, argv [][]byte, now int64) { c.push(argv, now, true) }
func rpushCmd(c *client, argv [][]byte, now int64) { c.push(argv, now, false) }

func (c *client) push(argv [][]byte, now int64, front bool) {
	o, ok := c.listFor(argv[1], now, true)
	if !ok {
		return
	}
	for _, v := range argv[2:] {
		v = append([]byte(nil), v...)
		if front {
			o.list.pushFront(v)
		} else {
			o.list.pushBack(v)
		}
	}
	c.addInt(int64(o.list.len()))
}

// countArg reads the optional count of "CMD key [count]" as LPOP and SPOP
// do: a positive integer, else errOutOfRange; more arguments get tooMany.
// ok is false after an error reply.
func (c *client) countArg(argv [][]byte, tooMany string) (count int64, hasCount, ok bool) {
	switch len(argv) {
	case 2:
		return 1, false, true
	case 3:
		count, ok = c.intArg(argv[2], errOutOfRange)
		if ok && count < 0 {
			c.addError(errOutOfRange)
			ok = false
		}
		return count, true, ok
	}
	c.addError(tooMany)
	return 0, false, false
}

func lpopCmd(c *client, argv [][]byte, now int64) { c.pop(argv, now, true) }
func rpopCmd(c *client, argv [][]byte, now int64) { c.pop(argv, now, false) }

// pop is popGenericCommand: LPOP key [count].
func (c *client) pop(argv [][]byte, now int64, front bool) {
	count, hasCount, ok := c.countArg(argv, "ERR wrong number of arguments for '"+string(bytes.ToLower(argv[0]))+"' command")
	if !ok {
		return
	}
	d := c.lp.srv.db
	o, ok := c.listFor(argv[1], now, false)
	if !ok {
		return
	}
	if o == nil {
		if hasCount {
			c.lp.out = resp.AppendNullArray(c.lp.out)
		} else {
			c.addNull()
		}
		return
	}
	n := int(min(count, int64(o.list.len())))
	if hasCount {
		c.addArray(n) // LPOP key 0 on a list: an empty array
	}
	for range n {
		if front {
			c.addBulk(o.list.popFront())
		} else {
			c.addBulk(o.list.popBack())
		}
	}
	if o.list.len() == 0 {
		d.remove(string(argv[1]))
	}
}

// LLEN key
func llenCmd(c *client, argv [][]byte, now int64) {
	o, ok := c.listFor(argv[1], now, false)
	if !ok {
		return
	}
	n := 0
	if o != nil {
		n = o.list.len()
	}
	c.addInt(int64(n))
}

// LRANGE key start stop
func lrangeCmd(c *client, argv [][]byte, now int64) {
	start, ok := c.intArg(argv[2], "")
	if !ok {
		return
	}
	end, ok := c.intArg(argv[3], "")
	if !ok {
		return
	}
	o, ok := c.listFor(argv[1], now, false)
	if !ok {
		return
	}
	if o == nil {
		c.addArray(0)
		return
	}
	n := int64(o.list.len())
	if start < 0 {
		start = max(n+start, 0)
	}
	if end < 0 {
		end = n + end
	}
	if start > end || start >= n {
		c.addArray(0)
		return
	}
	end = min(end, n-1)
	c.addArray(int(end - start + 1))
	for i := start; i <= end; i++ {
		c.addBulk(o.list.at(int(i)))
	}
}

// setFor returns key's set, creating it when create is set; ok is false
// after a WRONGTYPE reply.
func (c *client) setFor(key []byte, now int64, create bool) (*object, bool) {
	if create {
		return c.typed(key, now, kSet, newSet)
	}
	return c.typed(key, now, kSet, nil)
}

// SADD key member [member ...]
func saddCmd(c *client, argv [][]byte, now int64) {
	o, ok := c.setFor(argv[1], now, true)
	if !ok {
		return
	}
	added := int64(0)
	for _, m := range argv[2:] {
		if _, ok := o.set[string(m)]; !ok {
			o.set[string(m)] = struct{}{}
			added++
		}
	}
	c.addInt(added)
}

// SCARD key
func scardCmd(c *client, argv [][]byte, now int64) {
	o, ok := c.setFor(argv[1], now, false)
	if !ok {
		return
	}
	n := 0
	if o != nil {
		n = len(o.set)
	}
	c.addInt(int64(n))
}

// SPOP key [count]: random members, removed.
func spopCmd(c *client, argv [][]byte, now int64) {
	count, hasCount, ok := c.countArg(argv, errSyntax)
	if !ok {
		return
	}
	d := c.lp.srv.db
	o, ok := c.setFor(argv[1], now, false)
	if !ok {
		return
	}
	if o == nil {
		if hasCount {
			c.addArray(0)
		} else {
			c.addNull()
		}
		return
	}
	n := int(min(count, int64(len(o.set))))
	if hasCount {
		c.addArray(n)
	}
	// Map iteration order is random: the first n members are a random pick.
	for m := range o.set {
		if n == 0 {
			break
		}
		c.addBulkString(m)
		delete(o.set, m)
		n--
	}
	if len(o.set) == 0 {
		d.remove(string(argv[1]))
	}
}

// HSET key field value [field value ...]
func hsetCmd(c *client, argv [][]byte, now int64) {
	if len(argv)%2 == 1 {
		c.addError("ERR wrong number of arguments for 'hset' command")
		return
	}
	o, ok := c.typed(argv[1], now, kHash, newHash)
	if !ok {
		return
	}
	added := int64(0)
	for j := 2; j < len(argv); j += 2 {
		if _, ok := o.hash[string(argv[j])]; !ok {
			added++
		}
		o.hash[string(argv[j])] = append([]byte(nil), argv[j+1]...)
	}
	c.addInt(added)
}

// HGET key field
func hgetCmd(c *client, argv [][]byte, now int64) {
	o := c.readOrNull(argv[1], now, kHash)
	if o == nil {
		return
	}
	if v, ok := o.hash[string(argv[2])]; ok {
		c.addBulk(v)
	} else {
		c.addNull()
	}
}

// TYPE key
func typeCmd(c *client, argv [][]byte, now int64) {
	d := c.lp.srv.db
	o := d.lookup(argv[1], now)
	t := "none"
	if o != nil {
		t = [...]string{kString: "string", kList: "list", kSet: "set", kHash: "hash"}[o.kind]
	}
	c.addStatus(t)
}

// SELECT index: there is one database, as with "databases 1".
func selectCmd(c *client, argv [][]byte, _ int64) {
	id, ok := c.intArg(argv[1], "")
	if !ok {
		return
	}
	if id < math.MinInt32 || id > math.MaxInt32 {
		c.addError("ERR value is out of range, value must between -2147483648 and 2147483647")
		return
	}
	if id != 0 {
		c.addError(errDBIndex)
		return
	}
	c.addStatus(okReply)
}

// QUIT: +OK, then the connection is closed.
func quitCmd(c *client, _ [][]byte, _ int64) {
	c.addStatus(okReply)
	c.closeAfterReply = true
}

// CLIENT SETNAME name
func clientSetnameCmd(c *client, argv [][]byte, _ int64) {
	name := argv[2]
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			c.addError(errClientName)
			return
		}
	}
	c.name = string(name)
	c.addStatus(okReply)
}

// CLIENT GETNAME
func clientGetnameCmd(c *client, _ [][]byte, _ int64) {
	if c.name == "" {
		c.addNull()
		return
	}
	c.addBulkString(c.name)
}

// CLIENT ID
func clientIDCmd(c *client, _ [][]byte, _ int64) { c.addInt(int64(c.id)) }
