package tests

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/aemux/mux/aeloop"
)

// RunLoop runs the aeloop conformance suite against loops made by create:
// the scenarios of the package doc, each a subtest named group/scenario
// ("Files/AddEventRange" ... "Post/RacingClose"), on a fresh loop of set
// size 1024 and fresh fds, under a watchdog that fails it after 10 s and
// then stops and wakes its loops. create gets the set size and the
// suite's own options, as aeloop.CreateLoop takes them. Timing checks are
// one-sided: a timer or poll must never end early, while lateness is only
// logged or bounded loosely, so a loaded machine does not produce false
// failures. Run it with -race: several properties (Post, Stop, posted
// functions running on the loop goroutine) are only fully checked by the
// race detector.
func RunLoop(t *testing.T, create LoopCreator) {
	cases := []struct {
		name string
		fn   func(t *testing.T, h *harness, l *aeloop.Loop)
	}{
		{"Files/AddEventRange", loopAddEventRange},
		{"Files/AddEventMergesMasks", loopAddEventMerges},
		{"Files/AddEventBadInput", loopAddEventBadInput},
		{"Files/ClientData", loopClientData},
		{"Files/DelEvent", loopDelEvent},
		{"Files/HangupReachesReadHandler", loopHangup},
		{"Files/ReadBeforeWrite", loopReadBeforeWrite},
		{"Files/BarrierWriteFirst", loopBarrier},
		{"Files/OneProcForBoth", loopOneProc},
		{"Files/HandlerDeletesOwnBit", loopDeleteOwnBit},
		{"Files/HandlerDeletesOtherFd", loopDeleteOtherFd},
		{"Files/DelThenReAddInBatch", loopDelReAdd},
		{"Files/NestedFromFileHandler", loopNestedFile},
		{"Files/ResizeInHandler", loopResizeInHandler},
		{"Process/NoFileNoTime", loopNoFileNoTime},
		{"Process/DontWait", loopDontWait},
		{"Process/FileOnlyIgnoresTimers", loopFileOnly},
		{"Process/TimeOnlyRunsNoFileHandler", loopTimeOnly},
		{"Process/PollOnlyWhenNeeded", loopPollOnlyWhenNeeded},
		{"Process/Order", loopOrder},
		{"Process/TimeoutAfterBeforeSleep", loopTimeoutAfterBeforeSleep},
		{"Process/NoAllocs", loopNoAllocs},
		{"Process/Stats", loopStats},
		{"Timers/Ids", loopTimerIds},
		{"Timers/DueOrder", loopDueOrder},
		{"Timers/PassRule", loopPassRule},
		{"Timers/Reschedule", loopReschedule},
		{"Timers/NegativeAndHugeDelays", loopHugeDelays},
		{"Timers/NeverEarly", loopNeverEarly},
		{"Timers/SelfDelete", loopSelfDelete},
		{"Timers/DeleteWhileRunningNested", loopDeleteNested},
		{"Timers/FinalizerOnce", loopFinalizerOnce},
		{"Timers/FinalizerAddsTimer", loopFinalizerAddsTimer},
		{"Timers/OnlyDeletedTimers", loopOnlyDeleted},
		{"Lifetime/StopBeforeMainIgnored", loopStopBeforeMain},
		{"Lifetime/StopFromHandler", loopStopFromHandler},
		{"Lifetime/StopFromGoroutine", loopStopFromGoroutine},
		{"Lifetime/Close", loopCloseTest},
		{"Lifetime/CloseFromTimer", loopCloseFromTimer},
		{"Lifetime/CloseAggregatesErrors", loopCloseErrors},
		{"Lifetime/CloseFromGoroutineWhileBlocked", loopCloseWhileBlocked},
		{"Lifetime/CloseFromGoroutineWhileHandling", loopCloseWhileHandling},
		{"Lifetime/CloseFromGoroutineWhileIdle", loopCloseWhileIdle},
		{"Lifetime/ApiNameAndSetSize", loopApiName},
		{"Post/ManySenders", loopPostMany},
		{"Post/WakesBlockedLoop", loopPostWakes},
		{"Post/NextIteration", loopPostNext},
		{"Post/RacingClose", loopPostRacingClose},
		{"Wait/SingleFd", loopWait},
		{"Wait/SingleFdEINTR", loopWaitEINTR},
	}
	for _, c := range cases {
		runSubtest(t, c.name, nil, create, func(t *testing.T, h *harness) {
			c.fn(t, h, h.newLoop(loopSetSize))
		})
	}
}

// process calls l.ProcessEvents(flags), fails t on an error and returns
// how many events it processed.
func process(t *testing.T, l *aeloop.Loop, flags int) int {
	t.Helper()
	n, err := l.ProcessEvents(flags)
	require.NoError(t, err)
	return n
}
