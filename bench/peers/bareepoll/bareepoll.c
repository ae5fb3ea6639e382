/*
 * bareepoll: the machine's floor for the benchmark harness (bench/run.sh).
 *
 * A RESP server that does no more work than the protocol needs, written
 * straight against Linux epoll, so that redis-server and cmd/aeserver can be
 * compared with what this machine allows at all: the fewest system calls and
 * the least CPU per request a single-threaded readiness loop can manage for
 * redis-benchmark's PING_INLINE, PING_MBULK, SET and GET.
 *
 * Design
 *   - One thread and one epoll instance. Every socket is nonblocking; accepted
 *     sockets get TCP_NODELAY (as Redis sets). The listen backlog asks for
 *     the kernel's maximum (net.core.somaxconn), as Go's net package does.
 *   - epoll_wait blocks with a -1 timeout: there are no timers. (Edge-
 *     triggered, the timeout is 0 while a client may have unread input; see
 *     below.)
 *   - A readable client is read once per event, into its input buffer (16 KiB
 *     to start; grown to hold a large bulk whole, so that it is read in few
 *     calls), as Redis does. Every complete command in the buffer is then
 *     parsed and executed at once; an incomplete one stays, and the parser
 *     keeps its place (arguments seen so far, bulks still to come), so a
 *     command that arrives over many reads is not parsed again from its start.
 *   - Replies are appended to the client's output buffer. Once per loop
 *     iteration, after all events and before the next epoll_wait, every client
 *     with new output gets one write() of all of it (Redis does this in
 *     beforeSleep). Only when that write is partial is EPOLLOUT asked for; the
 *     rest goes out on the writable event, and EPOLLOUT is dropped again when
 *     the buffer is empty. One write is enough: a partial write on TCP means
 *     the socket buffer is full, so a second one would only return EAGAIN.
 *   - A client is closed on EOF, on a read or write error, after the reply to
 *     QUIT, and after the error reply to malformed input. Until its replies
 *     are written it is still read, and what it sends dropped (as Redis goes
 *     on reading into a buffer it no longer parses): closing a socket with
 *     unread input sends RST, which would throw away replies not yet
 *     delivered. Closing the socket removes it from the epoll set (nothing
 *     else holds the file), so no epoll_ctl(DEL) is needed. Its buffers are
 *     freed then.
 *   - SIGTERM and SIGINT arrive through a signalfd in the same epoll set (no
 *     race between a flag and the wait); the server then frees everything and
 *     exits with status 0. SIGPIPE is ignored: a write to a closed peer fails
 *     with EPIPE and closes that client.
 *
 * Edge- or level-triggered. Clients are edge-triggered (EPOLLIN|EPOLLET) by
 * default, as cmd/aeserver's are; -level makes them level-triggered, as
 * Redis's ae has them. The listener and the signalfd are level-triggered
 * either way. On the request path both modes make the same system calls: one
 * read, one write, and a share of one epoll_wait (the share falls as more
 * clients are ready at once). They differ off it, and there edge-triggered
 * makes fewer, which is why it is the default:
 *   - A partial write: level-triggered asks for EPOLLOUT and drops it again
 *     once the output is gone, two epoll_ctl calls each time; edge-triggered
 *     adds EPOLLOUT once, on a client's first partial write, and leaves it
 *     (an edge-triggered EPOLLOUT fires only when a full socket buffer gets
 *     room, so it costs nothing while writes succeed).
 *   - A read that fills the buffer: edge-triggered will not be told again
 *     about what is left, so the client goes on a list read once more after
 *     the other events, and the next epoll_wait does not block (timeout 0)
 *     while that list is not empty; level-triggered leaves it to the next
 *     epoll_wait. Either way one more read and no more waits.
 *   - In the kernel, a level-triggered fd that a wait reported is checked
 *     again by the next wait; an edge-triggered one is not.
 * Neither partial writes nor full reads happen with redis-benchmark's small
 * requests and replies. Measured 2026-11-30 on the 2-core VM bench/run.sh
 * ran on (GET, -c 50, server and client pinned, perf counting, three short
 * runs): both modes made 1.00 read, 1.00 write and 0.75-0.82 epoll_wait per
 * request at -P 1, and 1/16 read and write and 0.044-0.049 epoll_wait at
 * -P 16, the two modes within 0.01 of each other in every run.
 *
 * Protocol, as the harness's other peers (bench/peers/resp) and Redis answer:
 *   PING [msg], ECHO msg, SET key value, GET key, QUIT, COMMAND (an empty
 *   table, and COMMAND COUNT 0: this server describes no commands),
 *   CONFIG GET save|appendonly
 *   (what redis-benchmark asks on start: "" and "no"; any other parameter
 *   gets an empty array). Anything else: -ERR unknown command 'NAME'.
 *   Multibulk commands (*N then N $len bulks) and inline ones (words split on
 *   spaces and tabs, ending in \n or \r\n; no quoting). An empty command gets
 *   no reply. Limits: 1,048,576 arguments, a bulk of at most 512 MiB, 64 KiB
 *   of inline command (Redis's defaults), and a client's buffered input and
 *   its unsent output at most 1 GiB each (Redis bounds the first so; past
 *   either, the client is closed).
 *   Malformed input gets -ERR Protocol error: <what> (Redis's wording where it
 *   has one), after the replies to the commands before it, and the connection
 *   is closed once that is written.
 *   The key space is an open-addressing hash table (linear probing, FNV-1a)
 *   holding copies of keys and values; a SET over a value that fits reuses its
 *   memory.
 *
 * Build: cc -O2 -o bareepoll bareepoll.c   (C99 with GNU extensions; Linux)
 * Usage: bareepoll [-addr HOST:PORT] [-level | -edge]
 *   -addr defaults to 127.0.0.1:6380; HOST is an IPv4 or a bracketed IPv6
 *   literal, and port 0 picks a free port. The first line on stderr names the
 *   address listened on and the mode.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define IOBUF ((size_t)16 << 10)        /* a client's buffers to start with */
#define MIN_READ ((size_t)4 << 10)      /* grow the input buffer below this much room */
#define KEEP_BUF ((size_t)1 << 20)      /* drop an emptied buffer larger than this */
#define MAX_INLINE ((size_t)64 << 10)   /* longest inline command */
#define MAX_BULK ((long long)512 << 20) /* largest bulk argument */
#define MAX_QUERY ((size_t)1 << 30)     /* most buffered input per client */
#define MAX_OUTPUT ((size_t)1 << 30)    /* most unsent output per client */
#define MAX_ARGS (1024 * 1024)          /* most arguments in one command */
#define MAX_HEADER 32                   /* longest *N or $N line */
#define MAX_EVENTS 1024                 /* events taken per epoll_wait */
#define MAX_ACCEPTS 1000                /* connections accepted per event */

struct arg {
	size_t off, len; /* from the start of the command */
};

struct client {
	int fd;
	char *in;
	size_t inlen, incap;
	size_t need;      /* bytes the incomplete command needs at least, or 0 */
	long long mbleft; /* bulks still to come in this command; -1: none begun */
	size_t ppos;      /* where parsing resumes, from the start of the command */
	struct arg *argv;
	size_t argc, argcap;
	char *out;
	size_t outpos, outlen, outcap;
	unsigned char queued;  /* in the write list */
	unsigned char again;   /* edge-triggered: in the read-again list */
	unsigned char waitout; /* a write was partial: waiting for EPOLLOUT */
	unsigned char outreg;  /* edge-triggered: EPOLLOUT is in its interest */
	unsigned char closing; /* close once the output is written */
	unsigned char dead;    /* closed; freed when no list holds it */
	struct client *prev, *next; /* every open client, for the exit */
};

struct list {
	struct client **c;
	size_t n, cap;
};

struct entry {
	uint64_t h;
	size_t klen, vlen, vcap;
	char *v;
	char k[];
};

static int edge = 1; /* -level clears it */
static int epfd = -1;
static char listen_tag, signal_tag; /* epoll data for the listener and the signalfd */
static struct list writes, agains;
static struct client *clients;
static struct entry **slots;
static size_t nslots, nused;

static void die(const char *what)
{
	fprintf(stderr, "bareepoll: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL) {
		fputs("bareepoll: out of memory\n", stderr);
		exit(1);
	}
	return p;
}

static void list_push(struct list *l, struct client *c)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->c = xrealloc(l->c, l->cap * sizeof *l->c);
	}
	l->c[l->n++] = c;
}

/* --- key space ------------------------------------------------------------ */

static uint64_t hash(const char *p, size_t n)
{
	uint64_t h = 14695981039346656037ULL;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static struct entry **lookup(const char *k, size_t klen, uint64_t h)
{
	size_t mask = nslots - 1, i = (size_t)h & mask;
	for (;; i = (i + 1) & mask) {
		struct entry *e = slots[i];
		if (e == NULL || (e->h == h && e->klen == klen && memcmp(e->k, k, klen) == 0))
			return &slots[i];
	}
}

static void grow_table(void)
{
	struct entry **old = slots;
	size_t oldn = nslots;
	nslots = oldn ? 2 * oldn : 1024;
	slots = calloc(nslots, sizeof *slots);
	if (slots == NULL) {
		fputs("bareepoll: out of memory\n", stderr);
		exit(1);
	}
	for (size_t i = 0; i < oldn; i++)
		if (old[i] != NULL)
			*lookup(old[i]->k, old[i]->klen, old[i]->h) = old[i];
	free(old);
}

static void store_set(const char *k, size_t klen, const char *v, size_t vlen)
{
	if ((nused + 1) * 4 > nslots * 3)
		grow_table();
	uint64_t h = hash(k, klen);
	struct entry **slot = lookup(k, klen, h), *e = *slot;
	if (e == NULL) {
		e = xrealloc(NULL, sizeof *e + klen);
		e->h = h;
		e->klen = klen;
		memcpy(e->k, k, klen);
		e->v = NULL;
		e->vcap = 0;
		*slot = e;
		nused++;
	}
	if (e->v == NULL || e->vcap < vlen || e->vcap > 2 * vlen + 64) {
		free(e->v);
		e->v = xrealloc(NULL, vlen);
		e->vcap = vlen;
	}
	memcpy(e->v, v, vlen);
	e->vlen = vlen;
}

static struct entry *store_get(const char *k, size_t klen)
{
	if (nslots == 0)
		return NULL;
	return *lookup(k, klen, hash(k, klen));
}

static void store_free(void)
{
	for (size_t i = 0; i < nslots; i++) {
		if (slots[i] != NULL) {
			free(slots[i]->v);
			free(slots[i]);
		}
	}
	free(slots);
}

/* --- clients ---------------------------------------------------------------- */

static void client_release(struct client *c)
{
	if (!c->queued && !c->again)
		free(c);
}

/* unlist clears the flag of a list c was taken from; a closed client is freed
 * once no list holds it. 1 when c is still open. */
static int unlist(struct client *c, unsigned char *flag)
{
	*flag = 0;
	if (c->dead) {
		client_release(c);
		return 0;
	}
	return 1;
}

static void client_close(struct client *c)
{
	close(c->fd); /* also takes it out of the epoll set */
	c->fd = -1;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->dead = 1;
	free(c->in);
	free(c->out);
	free(c->argv);
	c->in = c->out = NULL;
	c->argv = NULL;
	client_release(c);
}

static int interest(struct client *c, uint32_t ev)
{
	struct epoll_event e = {.events = ev, .data.ptr = c};
	return epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
}

/* out_room makes room for n more bytes of output; 0 when it cannot. */
static int out_room(struct client *c, size_t n)
{
	if (c->outcap - c->outlen >= n)
		return 1;
	if (c->outlen - c->outpos + n > MAX_OUTPUT)
		return 0;
	if (c->outpos > 0) { /* only while waiting for EPOLLOUT */
		memmove(c->out, c->out + c->outpos, c->outlen - c->outpos);
		c->outlen -= c->outpos;
		c->outpos = 0;
		if (c->outcap - c->outlen >= n)
			return 1;
	}
	size_t cap = c->outcap;
	while (cap - c->outlen < n)
		cap *= 2;
	char *p = realloc(c->out, cap);
	if (p == NULL)
		return 0;
	c->out = p;
	c->outcap = cap;
	return 1;
}

static void out_add(struct client *c, const char *s, size_t n)
{
	if (c->closing == 2 || !out_room(c, n)) {
		c->closing = 2; /* over the output limit: close without a reply */
		return;
	}
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
}

#define OUT_LIT(c, s) out_add(c, s, sizeof(s) - 1)

static void out_bulk(struct client *c, const char *s, size_t n)
{
	char hdr[32];
	int h = snprintf(hdr, sizeof hdr, "$%zu\r\n", n);
	if (c->closing == 2 || !out_room(c, (size_t)h + n + 2)) {
		c->closing = 2;
		return;
	}
	char *p = c->out + c->outlen;
	memcpy(p, hdr, (size_t)h);
	memcpy(p + h, s, n);
	memcpy(p + h + n, "\r\n", 2);
	c->outlen += (size_t)h + n + 2;
}

/* out_name appends at most 64 bytes of a name, '?' for bytes that would
 * break a one-line reply. */
static void out_name(struct client *c, const char *s, size_t n)
{
	char buf[64];
	if (n > sizeof buf)
		n = sizeof buf;
	for (size_t i = 0; i < n; i++)
		buf[i] = (s[i] < ' ' || s[i] > '~') ? '?' : s[i];
	out_add(c, buf, n);
}

/* --- parsing ---------------------------------------------------------------- */

/* header parses a "*N\r\n" or "$N\r\n" line at b[0..n): 1 with the value and
 * the line's length, 0 when incomplete, -1 when the number is malformed, -2
 * when the line is too long to be a number. */
static int header(const char *b, size_t n, long long *v, size_t *len)
{
	size_t lim = n < MAX_HEADER ? n : MAX_HEADER;
	const char *cr = memchr(b, '\r', lim);
	if (cr == NULL)
		return n >= MAX_HEADER ? -2 : 0;
	size_t i = (size_t)(cr - b);
	if (i + 1 >= n)
		return 0;
	if (b[i + 1] != '\n')
		return -1;
	const char *p = b + 1, *end = cr;
	int neg = 0;
	if (p < end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p == end || end - p > 18)
		return -1;
	long long x = 0;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		x = x * 10 + (*p - '0');
	}
	*v = neg ? -x : x;
	*len = i + 2;
	return 1;
}

static int add_arg(struct client *c, size_t off, size_t len)
{
	if (c->argc == c->argcap) {
		size_t cap = c->argcap ? 2 * c->argcap : 8;
		struct arg *a = realloc(c->argv, cap * sizeof *a);
		if (a == NULL)
			return 0;
		c->argv = a;
		c->argcap = cap;
	}
	c->argv[c->argc].off = off;
	c->argv[c->argc].len = len;
	c->argc++;
	return 1;
}

static int parse_inline(struct client *c, const char *b, size_t n, size_t *used, const char **err)
{
	const char *nl = memchr(b, '\n', n);
	if (nl == NULL) {
		if (n > MAX_INLINE) {
			*err = "too big inline request";
			return -1;
		}
		return 0;
	}
	size_t end = (size_t)(nl - b);
	*used = end + 1;
	if (end > 0 && b[end - 1] == '\r')
		end--;
	for (size_t i = 0; i < end;) {
		while (i < end && (b[i] == ' ' || b[i] == '\t'))
			i++;
		size_t j = i;
		while (j < end && b[j] != ' ' && b[j] != '\t')
			j++;
		if (j > i && !add_arg(c, i, j - i)) {
			*err = "out of memory";
			return -1;
		}
		i = j;
	}
	return 1;
}

/* parse reads the command at the front of b[0..n) into c->argv: 1 when it is
 * complete (*used bytes), 0 when more input is needed, -1 on malformed input
 * (*err says what). The first call for a command must see at least 1 byte. */
static int parse(struct client *c, const char *b, size_t n, size_t *used, const char **err)
{
	static char expected[] = "expected '$', got '?'";
	long long v;
	size_t hl;
	int r;

	c->need = 0;
	if (c->mbleft < 0) {
		c->argc = 0;
		if (b[0] != '*')
			return parse_inline(c, b, n, used, err);
		r = header(b, n, &v, &hl);
		if (r == 0)
			return 0;
		if (r == -2) {
			*err = "too big mbulk count string";
			return -1;
		}
		if (r < 0 || v > MAX_ARGS) {
			*err = "invalid multibulk length";
			return -1;
		}
		if (v <= 0) { /* an empty command, as Redis takes *0 and *-1 */
			*used = hl;
			return 1;
		}
		c->mbleft = v;
		c->ppos = hl;
	}
	while (c->mbleft > 0) {
		size_t p = c->ppos;
		if (p >= n)
			return 0;
		if (b[p] != '$') {
			char ch = b[p];
			expected[sizeof expected - 3] = (ch < ' ' || ch > '~') ? '?' : ch;
			*err = expected;
			return -1;
		}
		r = header(b + p, n - p, &v, &hl);
		if (r == 0)
			return 0;
		if (r == -2) {
			*err = "too big bulk count string";
			return -1;
		}
		if (r < 0 || v < 0 || v > MAX_BULK) {
			*err = "invalid bulk length";
			return -1;
		}
		size_t start = p + hl, end = start + (size_t)v;
		if (end + 2 > n) {
			c->need = end + 2;
			return 0;
		}
		if (b[end] != '\r' || b[end + 1] != '\n') {
			*err = "bulk string not terminated by CRLF";
			return -1;
		}
		if (!add_arg(c, start, (size_t)v)) {
			*err = "out of memory";
			return -1;
		}
		c->ppos = end + 2;
		c->mbleft--;
	}
	c->mbleft = -1;
	*used = c->ppos;
	return 1;
}

/* --- commands ---------------------------------------------------------------- */

static int is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

static void exec_command(struct client *c, const char *b)
{
	size_t argc = c->argc;
	const struct arg *a = c->argv;
	if (argc == 0)
		return;
	const char *name = b + a[0].off;
	size_t nlen = a[0].len;
#define ARG(i) (b + a[i].off), a[i].len

	if (is(name, nlen, "GET")) {
		if (argc == 2) {
			struct entry *e = store_get(ARG(1));
			if (e == NULL)
				OUT_LIT(c, "$-1\r\n");
			else
				out_bulk(c, e->v, e->vlen);
			return;
		}
	} else if (is(name, nlen, "SET")) {
		if (argc == 3) {
			store_set(ARG(1), ARG(2));
			OUT_LIT(c, "+OK\r\n");
			return;
		}
		if (argc > 3) {
			OUT_LIT(c, "-ERR syntax error\r\n");
			return;
		}
	} else if (is(name, nlen, "PING")) {
		if (argc == 1) {
			OUT_LIT(c, "+PONG\r\n");
			return;
		}
		if (argc == 2) {
			out_bulk(c, ARG(1));
			return;
		}
	} else if (is(name, nlen, "ECHO")) {
		if (argc == 2) {
			out_bulk(c, ARG(1));
			return;
		}
	} else if (is(name, nlen, "CONFIG")) {
		if (argc == 3 && is(ARG(1), "GET")) {
			const char *val;
			if (is(ARG(2), "save"))
				val = "";
			else if (is(ARG(2), "appendonly"))
				val = "no";
			else {
				OUT_LIT(c, "*0\r\n");
				return;
			}
			OUT_LIT(c, "*2\r\n");
			out_bulk(c, ARG(2));
			out_bulk(c, val, strlen(val));
			return;
		}
		if (argc >= 2) {
			OUT_LIT(c, "-ERR unsupported CONFIG subcommand\r\n");
			return;
		}
	} else if (is(name, nlen, "COMMAND")) {
		if (argc >= 2 && is(ARG(1), "COUNT"))
			OUT_LIT(c, ":0\r\n");
		else
			OUT_LIT(c, "*0\r\n");
		return;
	} else if (is(name, nlen, "QUIT")) {
		OUT_LIT(c, "+OK\r\n");
		if (c->closing == 0)
			c->closing = 1;
		return;
	} else {
		OUT_LIT(c, "-ERR unknown command '");
		out_name(c, name, nlen);
		OUT_LIT(c, "'\r\n");
		return;
	}
	OUT_LIT(c, "-ERR wrong number of arguments for '");
	out_name(c, name, nlen);
	OUT_LIT(c, "' command\r\n");
#undef ARG
}

/* process executes every complete command in the input buffer and keeps the
 * rest, moved to the front. A closing client's input is dropped. */
static void process(struct client *c)
{
	size_t start = 0;
	while (start < c->inlen && c->closing == 0) {
		size_t used = 0;
		const char *err = NULL;
		int r = parse(c, c->in + start, c->inlen - start, &used, &err);
		if (r == 0)
			break;
		if (r < 0) {
			OUT_LIT(c, "-ERR Protocol error: ");
			out_add(c, err, strlen(err));
			OUT_LIT(c, "\r\n");
			if (c->closing == 0)
				c->closing = 1;
			break;
		}
		exec_command(c, c->in + start);
		start += used;
	}
	if (c->closing) {
		c->inlen = 0;
		return;
	}
	if (start > 0) {
		memmove(c->in, c->in + start, c->inlen - start);
		c->inlen -= start;
	}
	if (c->argcap > 1024 && c->mbleft < 0) {
		free(c->argv);
		c->argv = NULL;
		c->argc = c->argcap = 0;
	}
	if (c->inlen == 0 && c->incap > KEEP_BUF) {
		char *p = realloc(c->in, IOBUF);
		if (p != NULL) {
			c->in = p;
			c->incap = IOBUF;
		}
	}
}

/* write_out writes the pending output once; 0 when the client was closed. */
static int write_out(struct client *c)
{
	size_t left = c->outlen - c->outpos;
	ssize_t n = write(c->fd, c->out + c->outpos, left);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR) {
			client_close(c);
			return 0;
		}
		n = 0;
	}
	if ((size_t)n == left) {
		c->outpos = c->outlen = 0;
		if (c->outcap > KEEP_BUF) {
			char *p = realloc(c->out, IOBUF);
			if (p != NULL) {
				c->out = p;
				c->outcap = IOBUF;
			}
		}
		if (c->closing) {
			client_close(c);
			return 0;
		}
		if (c->waitout) {
			c->waitout = 0;
			if (!edge && interest(c, EPOLLIN) < 0) {
				client_close(c);
				return 0;
			}
		}
		return 1;
	}
	c->outpos += (size_t)n;
	if (!c->waitout) {
		c->waitout = 1;
		/* Level-triggered: EPOLLOUT until the output is gone. Edge-triggered:
		 * from the first partial write on, for good; it is reported only when
		 * a full socket buffer gets room, so it costs nothing meanwhile. */
		uint32_t ev = EPOLLIN | EPOLLOUT;
		if (edge && !c->outreg) {
			ev |= EPOLLET;
			c->outreg = 1;
		} else if (edge) {
			return 1;
		}
		if (interest(c, ev) < 0) {
			client_close(c);
			return 0;
		}
	}
	return 1;
}

/* after_input queues a client with new output for the write at the end of the
 * iteration, or closes it; 0 when it was closed. */
static int after_input(struct client *c)
{
	if (c->closing == 2) { /* over the output limit */
		client_close(c);
		return 0;
	}
	if (c->outlen > c->outpos) {
		if (!c->queued && !c->waitout) {
			c->queued = 1;
			list_push(&writes, c);
		}
	} else if (c->closing) {
		client_close(c);
		return 0;
	}
	return 1;
}

/* read_in reads once and runs what came in; 0 when the client was closed. */
static int read_in(struct client *c)
{
	size_t want = c->inlen + MIN_READ;
	if (c->need > want)
		want = c->need;
	if (want > c->incap) {
		if (want > MAX_QUERY) {
			client_close(c); /* Redis's client query buffer limit */
			return 0;
		}
		size_t cap = c->incap;
		while (cap < want)
			cap *= 2;
		char *p = realloc(c->in, cap);
		if (p == NULL) {
			client_close(c);
			return 0;
		}
		c->in = p;
		c->incap = cap;
	}
	size_t room = c->incap - c->inlen;
	ssize_t n = read(c->fd, c->in + c->inlen, room);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 1;
		client_close(c);
		return 0;
	}
	c->inlen += (size_t)n;
	process(c);
	/* Edge-triggered: a read that filled the buffer may have left input in
	 * the socket, and no new event will say so. */
	if (edge && (size_t)n == room && !c->again) {
		c->again = 1;
		list_push(&agains, c);
	}
	return after_input(c);
}

static void accept_clients(int lfd)
{
	static int spare = -2, warned;
	if (spare == -2)
		spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < MAX_ACCEPTS; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if ((errno == EMFILE || errno == ENFILE) && spare >= 0) {
				/* Out of descriptors: take the connection with the spare one
				 * and drop it, so that the listener does not stay ready. */
				if (!warned++)
					fprintf(stderr, "bareepoll: accept: %s; dropping new connections until some close\n",
						strerror(errno));
				close(spare);
				fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (fd >= 0)
					close(fd);
				spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
				continue;
			}
			if (errno != EAGAIN)
				fprintf(stderr, "bareepoll: accept: %s\n", strerror(errno));
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct client *c = calloc(1, sizeof *c);
		char *in = malloc(IOBUF), *out = malloc(IOBUF);
		if (c == NULL || in == NULL || out == NULL) {
			free(c);
			free(in);
			free(out);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->in = in;
		c->incap = IOBUF;
		c->out = out;
		c->outcap = IOBUF;
		c->mbleft = -1;
		c->next = clients;
		if (clients != NULL)
			clients->prev = c;
		clients = c;
		struct epoll_event e = {
			.events = edge ? EPOLLIN | EPOLLET : EPOLLIN,
			.data.ptr = c,
		};
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
			fprintf(stderr, "bareepoll: epoll_ctl: %s\n", strerror(errno));
			client_close(c);
		}
	}
}

/* --- setup -------------------------------------------------------------------- */

static int listen_on(const char *addr)
{
	const char *colon = strrchr(addr, ':');
	if (colon == NULL) {
		fprintf(stderr, "bareepoll: -addr %s: want HOST:PORT\n", addr);
		exit(2);
	}
	char host[64];
	size_t hlen = (size_t)(colon - addr);
	if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
		addr++;
		hlen -= 2;
	}
	if (hlen >= sizeof host) {
		fprintf(stderr, "bareepoll: -addr: host too long\n");
		exit(2);
	}
	memcpy(host, addr, hlen);
	host[hlen] = 0;
	char *end;
	errno = 0;
	long port = strtol(colon + 1, &end, 10);
	if (colon[1] == 0 || *end != 0 || errno != 0 || port < 0 || port > 65535) {
		fprintf(stderr, "bareepoll: -addr: bad port '%s'\n", colon + 1);
		exit(2);
	}
	struct sockaddr_storage ss;
	socklen_t sl;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	if (hlen == 0 || inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (hlen == 0)
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		sl = sizeof *s4;
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		sl = sizeof *s6;
	} else {
		fprintf(stderr, "bareepoll: -addr: '%s' is not an IPv4 or IPv6 address\n", host);
		exit(2);
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0)
		die("bind");
	if (listen(fd, 65535) < 0) /* the kernel caps it at somaxconn */
		die("listen");
	sl = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		die("getsockname");
	char name[INET6_ADDRSTRLEN];
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, name, sizeof name);
		fprintf(stderr, "bareepoll: listening on %s:%d (%s-triggered)\n", name, ntohs(s4->sin_port),
			edge ? "edge" : "level");
	} else {
		inet_ntop(AF_INET6, &s6->sin6_addr, name, sizeof name);
		fprintf(stderr, "bareepoll: listening on [%s]:%d (%s-triggered)\n", name, ntohs(s6->sin6_port),
			edge ? "edge" : "level");
	}
	return fd;
}

static void usage(void)
{
	fputs("usage: bareepoll [-addr HOST:PORT] [-level | -edge]\n"
	      "  -addr HOST:PORT  address to listen on (default 127.0.0.1:6380)\n"
	      "  -level           level-triggered epoll, as Redis's ae\n"
	      "  -edge            edge-triggered epoll (the default)\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1:6380";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-')
			a++; /* -flag and --flag alike, as Go's flag package takes them */
		if (strcmp(a, "-edge") == 0)
			edge = 1;
		else if (strcmp(a, "-level") == 0)
			edge = 0;
		else if (strcmp(a, "-addr") == 0 && i + 1 < argc)
			addr = argv[++i];
		else if (strncmp(a, "-addr=", 6) == 0)
			addr = a + 6;
		else
			usage();
	}

	struct sigaction sa = {.sa_handler = SIG_IGN};
	sigaction(SIGPIPE, &sa, NULL);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0)
		die("sigprocmask");
	int sfd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd");

	int lfd = listen_on(addr);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		die("epoll_create1");
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = &listen_tag};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &e) < 0)
		die("epoll_ctl");
	e.data.ptr = &signal_tag;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &e) < 0)
		die("epoll_ctl");

	static struct epoll_event events[MAX_EVENTS];
	struct list again_now = {0};
	int running = 1;
	while (running) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, agains.n > 0 ? 0 : -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait");
		}
		for (int i = 0; i < n; i++) {
			void *p = events[i].data.ptr;
			uint32_t ev = events[i].events;
			if (p == &listen_tag) {
				accept_clients(lfd);
				continue;
			}
			if (p == &signal_tag) {
				running = 0;
				continue;
			}
			struct client *c = p;
			if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
				if (!read_in(c))
					continue;
			}
			if ((ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && c->waitout)
				write_out(c);
		}
		if (agains.n > 0) { /* edge-triggered: read again where a read filled the buffer */
			struct list t = again_now;
			again_now = agains;
			agains = t;
			agains.n = 0;
			for (size_t i = 0; i < again_now.n; i++) {
				struct client *c = again_now.c[i];
				if (unlist(c, &c->again))
					read_in(c);
			}
		}
		for (size_t i = 0; i < writes.n; i++) { /* Redis's beforeSleep */
			struct client *c = writes.c[i];
			if (unlist(c, &c->queued) && !c->waitout)
				write_out(c);
		}
		writes.n = 0;
	}

	/* SIGTERM or SIGINT: close every client and free everything, so that a
	 * leak checker sees nothing left. */
	for (size_t i = 0; i < agains.n; i++)
		unlist(agains.c[i], &agains.c[i]->again);
	while (clients != NULL)
		client_close(clients);
	free(writes.c);
	free(agains.c);
	free(again_now.c);
	store_free();
	close(lfd);
	close(sfd);
	close(epfd);
	return 0;
}
