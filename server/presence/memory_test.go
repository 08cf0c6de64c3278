package presence_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/server/presence/presencetest"
)

func TestMemoryTracker(t *testing.T) {
	presencetest.Run(t, func(t *testing.T, node string, ttl time.Duration) presence.Tracker {
		return presence.NewMemory(ttl)
	}, false)
}
