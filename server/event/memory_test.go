package event_test

import (
	"testing"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/event/eventtest"
)

func TestMemoryBus(t *testing.T) {
	eventtest.Run(t, func(t *testing.T, node string, h event.Handler) event.Bus {
		b := event.NewMemory(h)
		t.Cleanup(func() { b.Close() })
		return b
	}, false)
}
