package event

import (
	"context"
	"errors"
	"sync"
)

// Memory is the in-process Bus of a single node. Like a broker, it delivers
// only the topics subscribed, and it hands events to the Handler in publish
// order.
type Memory struct {
	handler Handler
	mu      sync.RWMutex
	topics  map[string]bool
	closed  bool
}

// NewMemory returns a Bus that calls h for every event on a subscribed topic.
func NewMemory(h Handler) *Memory {
	return &Memory{handler: h, topics: make(map[string]bool)}
}

var errClosed = errors.New("event bus closed")

// Publish delivers ev at once if its topic is subscribed.
func (m *Memory) Publish(ctx context.Context, ev Event) error {
	m.mu.RLock()
	closed, ok := m.closed, m.topics[ev.Topic]
	m.mu.RUnlock()
	if closed {
		return errClosed
	}
	if ok {
		m.handler(ev)
	}
	return nil
}

func (m *Memory) Subscribe(ctx context.Context, topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.topics[topic] = true
	return nil
}

func (m *Memory) Unsubscribe(ctx context.Context, topic string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.topics, topic)
	return nil
}

func (m *Memory) Ping(ctx context.Context) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.closed {
		return errClosed
	}
	return nil
}

func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
