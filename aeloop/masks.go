package aeloop

import "github.com/aemux/mux/event"

// The fd event masks under ae's names, so that a ported file whose only
// use of package event was AE_NONE, AE_READABLE, AE_WRITABLE and AE_BARRIER
// imports aeloop alone. They are package event's constants (same type, same
// values), so the two spellings mix freely.
const (
	// None is the empty mask (AE_NONE).
	None = event.None
	// Readable asks for, or reports, readability (AE_READABLE).
	Readable = event.Readable
	// Writable asks for, or reports, writability (AE_WRITABLE).
	Writable = event.Writable
	// Barrier, with Writable, runs the write handler before the read
	// handler when both fire (AE_BARRIER).
	Barrier = event.Barrier
)

// Mask is package event's Mask, the type of the masks above and of the
// mask a FileProc receives, so that a handler can be written with aeloop
// alone.
type Mask = event.Mask
