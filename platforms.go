package mux

// What builds where: the one table of the backends built for each OS, in
// the order Open prefers them (the first is the default), with the wake-up
// each one uses. The build constraints of the backend and waker files
// carry it out; TestPlatforms checks, on the OS it runs on, that they agree
// with it, and TestDocsNameBackends that every list of backends in the
// docs names each backend of this table.
//
// A backend's name is written here once: its file registers under the
// constant (register), and Backends, WithBackend, $AEMUX_BACKEND and
// Poller.Name use the name registered.

// The backends' names.
const (
	nameEpoll  = "epoll"
	nameKqueue = "kqueue"
	namePoll   = "poll"
	nameIOCP   = "iocp"
)

// The wake-ups (Poller.Wake): how a backend makes its wait return.
const (
	wakeEventfd = "eventfd"                    // waker_eventfd.go: an eventfd(2) counter
	wakePipe    = "pipe"                       // waker_pipe.go: a non-blocking pipe
	wakeUser    = "EVFILT_USER"                // backend_kqueue_user.go: a kqueue user event
	wakePost    = "PostQueuedCompletionStatus" // backend_iocp.go: a completion with no I/O
)

// built is one backend of an OS's row.
type built struct {
	name string // the backend's name
	wake string // its wake-up
	tag  string // the build tag it needs besides the OS, or ""
}

// platforms maps each GOOS to its backends, in Open's order.
var platforms = map[string][]built{
	"linux": {
		{nameEpoll, wakeEventfd, ""},
		{nameKqueue, wakeUser, "libkqueue"}, // over libkqueue, with cgo
		{namePoll, wakeEventfd, ""},
	},
	"darwin":    kqueueUserRow,
	"dragonfly": kqueueUserRow,
	"freebsd":   kqueueUserRow,
	"netbsd":    kqueuePipeRow,
	"openbsd":   kqueuePipeRow,
	"windows":   {{nameIOCP, wakePost, ""}},
}

var (
	// kqueueUserRow: the kernel's kqueue, woken by EVFILT_USER.
	kqueueUserRow = []built{{nameKqueue, wakeUser, ""}, {namePoll, wakePipe, ""}}
	// kqueuePipeRow: the kernel's kqueue without EVFILT_USER (OpenBSD has
	// none; NetBSD before 10.0), woken through a pipe.
	kqueuePipeRow = []built{{nameKqueue, wakePipe, ""}, {namePoll, wakePipe, ""}}
)
