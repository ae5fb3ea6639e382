package event_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/aemux/mux/event"
)

func TestValuesMatchRedis(t *testing.T) {
	// ae.h: AE_NONE 0, AE_READABLE 1, AE_WRITABLE 2, AE_BARRIER 4.
	assert.EqualValues(t, 0, event.None)
	assert.EqualValues(t, 1, event.Readable)
	assert.EqualValues(t, 2, event.Writable)
	assert.EqualValues(t, 4, event.Barrier)
	assert.EqualValues(t, 8, event.Hangup)
	assert.EqualValues(t, 16, event.Error)
	assert.Equal(t, event.Readable|event.Writable|event.Barrier, event.Registrable)
	assert.Equal(t, event.Readable|event.Writable, event.IO)
}

func TestString(t *testing.T) {
	for _, tc := range []struct {
		m    event.Mask
		want string
	}{
		{event.None, "None"},
		{event.Readable, "Readable"},
		{event.Writable, "Writable"},
		{event.Readable | event.Writable, "Readable|Writable"},
		{event.Writable | event.Barrier, "Writable|Barrier"},
		{event.Readable | event.Writable | event.Barrier, "Readable|Writable|Barrier"},
		{event.Readable | event.Hangup, "Readable|Hangup"},
		{event.Writable | event.Error, "Writable|Error"},
		{event.All, "Readable|Writable|Barrier|Hangup|Error"},
		{event.Readable | 0x40, "Readable|0x40"},
		{0xff00, "0xff00"},
		{event.Error | 0x80000000, "Error|0x80000000"},
	} {
		assert.Equal(t, tc.want, tc.m.String(), "mask %#x", uint32(tc.m))
	}
}

func TestHas(t *testing.T) {
	m := event.Readable | event.Hangup
	assert.True(t, m.Has(event.Readable))
	assert.True(t, m.Has(event.Readable|event.Hangup))
	assert.False(t, m.Has(event.Readable|event.Writable))
	assert.True(t, m.Has(event.None))
}

func ExampleMask_String() {
	m := event.Readable | event.Writable
	fmt.Println(m)
	fmt.Println(m &^ event.Writable)
	fmt.Println(event.None)
	fmt.Println(event.Fired{Fd: 7, Mask: event.Readable | event.Hangup})
	// Output:
	// Readable|Writable
	// Readable
	// None
	// {7 Readable|Hangup}
}
