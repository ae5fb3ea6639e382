package main

import (
	"sync"
	"time"
)

// kind is the type of a value, as Redis's OBJ_STRING, OBJ_LIST, ...
type kind uint8

const (
	kString kind = iota + 1
	kList
	kSet
	kHash
)

// object is one value of the keyspace.
type object struct {
	kind     kind
	str      []byte // kString
	list     deque  // kList
	set      map[string]struct{}
	hash     map[string][]byte
	expireAt int64 // Unix time in ms; 0: the key does not expire
}

// db is the keyspace: one database (Redis's db 0), shared by every loop
// under one mutex. The commands that one read brings run under one hold of
// it (runCommands), so every command is atomic, as in Redis; commands are
// short, so one lock is enough for a few loops on a few cores. Command
// procedures run with mu held.
type db struct {
	mu       sync.Mutex
	keys     map[string]*object
	volatile map[string]*object // the keys with a TTL (Redis's db->expires)

	// Counters, under mu.
	expired uint64
	hits    uint64
	misses  uint64
}

func newDB() *db {
	return &db{keys: make(map[string]*object), volatile: make(map[string]*object)}
}

// nowMs is the command time: Unix time in milliseconds.
func nowMs() int64 { return time.Now().UnixMilli() }

// lookup returns the live value of key, deleting it first if it has
// expired (lazy expiry, expireIfNeeded). Callers hold mu.
func (d *db) lookup(key []byte, now int64) *object {
	o := d.keys[string(key)]
	if o != nil && o.expireAt != 0 && o.expireAt <= now {
		d.remove(string(key))
		d.expired++
		return nil
	}
	return o
}

// lookupRead is lookup counting keyspace hits and misses.
func (d *db) lookupRead(key []byte, now int64) *object {
	o := d.lookup(key, now)
	if o == nil {
		d.misses++
	} else {
		d.hits++
	}
	return o
}

// add stores a new key (it must not exist).
func (d *db) add(key []byte, o *object) {
	d.keys[string(key)] = o
	if o.expireAt != 0 {
		d.volatile[string(key)] = o
	}
}

// remove deletes key; it reports whether it existed.
func (d *db) remove(key string) bool {
	o, ok := d.keys[key]
	if !ok {
		return false
	}
	delete(d.keys, key)
	if o.expireAt != 0 {
		delete(d.volatile, key)
	}
	return true
}

// setExpire sets or clears (at == 0) key's expiry time.
func (d *db) setExpire(key []byte, o *object, at int64) {
	switch {
	case at != 0 && o.expireAt == 0:
		d.volatile[string(key)] = o
	case at == 0 && o.expireAt != 0:
		delete(d.volatile, string(key))
	}
	o.expireAt = at
}

// setString stores a string value. o is key's live value, as lookup just
// returned it (nil: none), so that a SET looks the key up once. The old
// buffer is reused when the key already holds a string and the buffer is
// large enough, so that a SET of an existing key allocates nothing.
// keepTTL keeps the key's TTL (SET KEEPTTL, INCR); otherwise it is
// cleared, as a SET does.
func (d *db) setString(key []byte, o *object, val []byte, keepTTL bool) *object {
	if o == nil {
		o = &object{kind: kString, str: append([]byte(nil), val...)}
		d.add(key, o)
		return o
	}
	if o.kind == kString && cap(o.str) >= len(val) && cap(o.str) <= 2*len(val)+64 {
		o.str = append(o.str[:0], val...)
	} else {
		*o = object{kind: kString, str: append([]byte(nil), val...), expireAt: o.expireAt}
	}
	if !keepTTL {
		d.setExpire(key, o, 0)
	}
	return o
}

// flush empties the keyspace.
func (d *db) flush() {
	d.keys = make(map[string]*object)
	d.volatile = make(map[string]*object)
}

// activeExpire is Redis's activeExpireCycle in small: it samples up to 20
// keys with a TTL, deletes those that have expired, and goes on while more
// than a quarter of a sample had expired, for at most budget. It returns
// how many keys it deleted.
func (d *db) activeExpire(budget time.Duration) int {
	const sample = 20
	start := time.Now()
	deleted := 0
	for {
		d.mu.Lock()
		now := nowMs()
		seen, gone := 0, 0
		// Go starts each map iteration at a random place: a random sample.
		for k, o := range d.volatile {
			if seen == sample {
				break
			}
			seen++
			if o.expireAt <= now {
				d.remove(k)
				d.expired++
				gone++
			}
		}
		d.mu.Unlock()
		deleted += gone
		if gone*4 <= seen || time.Since(start) > budget {
			return deleted
		}
	}
}

// deque is a list value: a ring buffer of elements.
type deque struct {
	buf  [][]byte
	head int // index of the first element in buf
	n    int
}

func (q *deque) len() int { return q.n }

func (q *deque) at(i int) []byte { return q.buf[(q.head+i)%len(q.buf)] }

func (q *deque) grow() {
	nb := make([][]byte, max(8, 2*len(q.buf)))
	for i := 0; i < q.n; i++ {
		nb[i] = q.at(i)
	}
	q.buf, q.head = nb, 0
}

func (q *deque) pushFront(v []byte) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = v
	q.n++
}

func (q *deque) pushBack(v []byte) {
	if q.n == len(q.buf) {
		q.grow()
	}
	q.buf[(q.head+q.n)%len(q.buf)] = v
	q.n++
}

func (q *deque) popFront() []byte {
	v := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return v
}

func (q *deque) popBack() []byte {
	i := (q.head + q.n - 1) % len(q.buf)
	v := q.buf[i]
	q.buf[i] = nil
	q.n--
	return v
}
