package presence

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process Tracker of a single node: a TTL per user,
// refreshed by heartbeats.
type Memory struct {
	ttl time.Duration
	mu  sync.Mutex
	exp map[int64]time.Time
	now func() time.Time
}

// NewMemory returns a Tracker whose entries live ttl past their last refresh.
func NewMemory(ttl time.Duration) *Memory {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Memory{ttl: ttl, exp: make(map[int64]time.Time), now: time.Now}
}

func (m *Memory) Connect(ctx context.Context, userID int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	was := m.exp[userID].After(now)
	m.exp[userID] = now.Add(m.ttl)
	return !was, nil
}

func (m *Memory) Disconnect(ctx context.Context, userID int64) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, had := m.exp[userID]
	delete(m.exp, userID)
	return had, nil
}

func (m *Memory) Heartbeat(ctx context.Context, userIDs []int64) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	var missing []int64
	for _, id := range userIDs {
		if e, ok := m.exp[id]; ok && e.After(now) { // refresh only: a disconnect stays a disconnect
			m.exp[id] = now.Add(m.ttl)
		} else {
			missing = append(missing, id)
		}
	}
	// forget the stale
	for id, e := range m.exp {
		if !e.After(now) {
			delete(m.exp, id)
		}
	}
	return missing, nil
}

func (m *Memory) Online(ctx context.Context, ids []int64) (map[int64]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make(map[int64]bool, len(ids))
	for _, id := range ids {
		if m.exp[id].After(now) {
			out[id] = true
		}
	}
	return out, nil
}

func (m *Memory) Ping(ctx context.Context) error { return nil }
func (m *Memory) Close() error                   { return nil }
