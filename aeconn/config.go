package aeconn

import (
	"errors"
	"os"
	"time"

	"github.com/aemux/mux"
)

// Listen names one address a Server accepts connections on.
type Listen struct {
	// Network is "tcp" (IPv4, or IPv6 for an IPv6 host), "tcp6" (an
	// IPv6-only socket) or "unix" (a Unix domain socket; not on Windows).
	Network string
	// Addr is "host:port" for TCP, in the forms package anet accepts
	// (port 0 asks the kernel for a port: see Server.Addrs), or a path for
	// "unix".
	Addr string
	// Perm is the Unix socket file's permissions; 0 means 0700.
	Perm os.FileMode
}

// Config is what a Server is made of. The zero value of every field but
// Listen means its default.
type Config struct {
	// Listen lists the addresses to accept on. A Server with none is a
	// client: its conns come from Dial.
	Listen []Listen
	// Backlog is listen(2)'s backlog (Redis's tcp-backlog); 0 means
	// anet.DefaultBacklog.
	Backlog int
	// Backend names the mux backend ("epoll", "kqueue", "poll", "iocp");
	// "" means the platform's default (or AEMUX_BACKEND).
	Backend string
	// Mode is mux.Level (the default) or mux.Edge. Edge falls back to
	// Level on a backend without it (poll, iocp); Loop.Edge tells.
	Mode mux.Mode
	// Loops is how many event loops serve conns, each on its own
	// goroutine, locked to an OS thread while Loops <= GOMAXPROCS;
	// 0 means 1. Where the kernel spreads accepts over listeners sharing a
	// port (SO_REUSEPORT on Linux, SO_REUSEPORT_LB on FreeBSD), every loop
	// has its own TCP listeners; elsewhere, and for Unix sockets, the
	// first loop accepts and hands conns to the others in turn.
	Loops int
	// MaxClients bounds the accepted conns of all loops together (Redis's
	// maxclients); 0 means DefaultMaxClients. New lowers it to what the
	// process's fd limit allows, after raising that limit as far as it
	// may (Redis's adjustOpenFilesLimit); MaxClients tells the result.
	// Dialed conns do not count.
	MaxClients int
	// AcceptBatch bounds the conns accepted per listener event (Redis's
	// MAX_ACCEPTS_PER_CALL); 0 means 1000.
	AcceptBatch int
	// ReadBuffer is the size of each loop's read buffer, shared by all
	// its conns: the most one read returns; 0 means 16 KiB.
	ReadBuffer int
	// SoftOutput is the unsent output above which a conn's input is no
	// longer read, until its output drains below it again; 0 means 1 MiB,
	// -1 never pauses.
	SoftOutput int
	// HardOutput is the unsent output above which a conn is closed
	// (Redis's client-output-buffer-limit), with ErrOutputLimit; 0 means
	// no limit.
	HardOutput int
	// MaxInput is the unconsumed input above which a conn is closed
	// (Redis's client-query-buffer-limit), with ErrInputLimit; 0 means
	// 1 GiB.
	MaxInput int
	// IdleTimeout closes a conn that neither read nor wrote a byte for
	// that long (Redis's timeout), with ErrIdle; 0 means never. A conn
	// with unsent output whose peer does not read is idle too. One timer
	// per loop checks every conn each CronInterval.
	IdleTimeout time.Duration
	// CronInterval is how often each loop's housekeeping timer runs
	// (idle conns, spare buffers); 0 means 100 ms (Redis's hz 10).
	CronInterval time.Duration
	// MaxMemory bounds what the buffers of all conns of all loops hold
	// together (Redis 7's maxmemory-clients), in bytes: kept input and
	// output by capacity, plus what Handler.Footprint adds for each conn.
	// SoftOutput bounds each conn; this bounds their sum, which a thousand
	// clients that pipeline large requests and never read would otherwise
	// push to gigabytes. Each CronInterval, while the sum is over it, each
	// loop closes its conns holding the most (OnClose gets ErrEvicted)
	// until the sum is under it; between two runs the sum can pass it by
	// what the conns receive meanwhile. 0 means no limit.
	MaxMemory int64
	// RejectOutOfFds answers the connections that wait in a listener's
	// backlog while the process is out of fds, instead of leaving them to
	// time out there: each loop keeps one spare fd open, and when accept
	// fails with EMFILE it closes the spare, accepts into its slot, hands
	// the conn to Handler.OnReject (as for MaxClients), closes it and
	// opens the spare again, up to AcceptBatch times per event (the
	// rejected count in Stats). Without a spare (Windows, or none could
	// be opened) accepting pauses as without this setting.
	RejectOutOfFds bool
	// ReleaseMemory gives memory the program no longer uses back to the
	// OS after a burst (see the package doc): the first loop's cron runs
	// debug.FreeOSMemory, on a goroutine of its own and at most every
	// 2 s, when the conns' buffers shrank by over 64 MiB since their peak
	// or the runtime holds over twice the live heap plus 64 MiB.
	ReleaseMemory bool
	// KeepNagle leaves Nagle's algorithm on for TCP conns; by default
	// every TCP conn gets TCP_NODELAY, so that small replies go out at once.
	KeepNagle bool
}

// Defaults.
const (
	// DefaultMaxClients is MaxClients' default, Redis's.
	DefaultMaxClients  = 10000
	defaultAcceptBatch = 1000
	defaultReadBuffer  = 16 << 10
	defaultSoftOutput  = 1 << 20
	defaultMaxInput    = 1 << 30
	defaultCron        = 100 * time.Millisecond
	// reservedFds are the fds a server needs besides its clients
	// (CONFIG_MIN_RESERVED_FDS): listeners, pollers, stdio, files.
	reservedFds = 32
	// acceptRetry is how long accepts stay paused after EMFILE when no
	// conn closes meanwhile.
	acceptRetry = 100 * time.Millisecond
	// pooledMax is the largest output buffer a loop keeps for reuse.
	pooledMax = 64 << 10
	// poolWindow is how long a loop keeps the output buffers it needed
	// at its busiest (see Loop.free), at most maxPoolPeaks cron intervals.
	poolWindow   = 2 * time.Second
	maxPoolPeaks = 64
	// firstOut is the capacity of a new output buffer: room for the
	// replies of a few pipelined requests (more grows it, and the pool
	// keeps the larger buffer). Small and not a power of two, so that
	// the buffers of the hundreds of conns a busy iteration serves lie
	// close together and their first bytes, which every reply touches,
	// do not all fall in the same cache sets: with 4 KiB buffers each on
	// a page of its own, copying the replies in and the kernel's copying
	// them out cost up to twice as much at 1,000 conns.
	firstOut = 640
)

// Errors, matched with errors.Is. Those a conn is closed with reach
// Handler.OnClose; the others come from New, Dial and Write.
var (
	// ErrClosed is returned by Write on a closed conn, by Dial and Post on
	// a closed Server, and given to OnClose for the conns Server.Close
	// closes.
	ErrClosed = errors.New("aeconn: closed")
	// ErrOutputLimit closes a conn whose unsent output passed HardOutput.
	ErrOutputLimit = errors.New("aeconn: output over the hard limit")
	// ErrInputLimit closes a conn whose unconsumed input passed MaxInput.
	ErrInputLimit = errors.New("aeconn: unconsumed input over the limit")
	// ErrIdle closes a conn idle for IdleTimeout.
	ErrIdle = errors.New("aeconn: idle timeout")
	// ErrDialTimeout closes a dialed conn not connected within its
	// timeout.
	ErrDialTimeout = errors.New("aeconn: dial timed out")
	// ErrEvicted closes the conns holding the most memory while all
	// conns together hold more than MaxMemory (OnClose gets it wrapped,
	// with the sizes).
	ErrEvicted = errors.New("aeconn: evicted, conns over the memory limit")
	// ErrOutOfFds is reported to OnError when accept fails for lack of
	// fds and RejectOutOfFds answers the waiting connections.
	ErrOutOfFds = errors.New("aeconn: out of fds, rejecting new connections")
	// ErrNetwork is an unknown Listen or Dial network.
	ErrNetwork = errors.New("aeconn: unknown network")
	// ErrMaxClientsLowered is reported to OnError by New when the fd limit
	// made it lower MaxClients.
	ErrMaxClientsLowered = errors.New("aeconn: max clients lowered to fit the fd limit")
	// ErrAcceptPaused is reported to OnError when accepting stops for
	// lack of fds (EMFILE, ENFILE); accepting resumes when a conn closes,
	// or after 100 ms.
	ErrAcceptPaused = errors.New("aeconn: out of fds, accepting paused")
)

// withDefaults returns cfg with its zero fields set.
func (cfg Config) withDefaults() Config {
	if cfg.Loops <= 0 {
		cfg.Loops = 1
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	if cfg.AcceptBatch <= 0 {
		cfg.AcceptBatch = defaultAcceptBatch
	}
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = defaultReadBuffer
	}
	if cfg.SoftOutput == 0 {
		cfg.SoftOutput = defaultSoftOutput
	}
	if cfg.MaxInput <= 0 {
		cfg.MaxInput = defaultMaxInput
	}
	if cfg.CronInterval <= 0 {
		cfg.CronInterval = defaultCron
	}
	return cfg
}
