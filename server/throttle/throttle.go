// Package throttle keeps repeated log lines from flooding the log: a
// message logs at once, then at most once an interval, saying how many
// times it came meanwhile.
package throttle

import (
	"log/slog"
	"sync"
	"time"
)

// Logger throttles by message text.
type Logger struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	seen  map[string]*entry
}

type entry struct {
	last       time.Time
	suppressed int
}

// New returns a Logger that logs each message at most once per every.
func New(log *slog.Logger, every time.Duration) *Logger {
	return &Logger{log: log, every: every, seen: map[string]*entry{}}
}

// Warn logs msg at warning level, unless it was logged less than an
// interval ago; then it is counted, and the next line says how many were
// left out ("repeated").
func (l *Logger) Warn(msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	e := l.seen[msg]
	if e == nil {
		if len(l.seen) > 1000 { // a bound, whatever the messages
			clear(l.seen)
		}
		e = &entry{}
		l.seen[msg] = e
	}
	if !e.last.IsZero() && now.Sub(e.last) < l.every {
		e.suppressed++
		l.mu.Unlock()
		return
	}
	n := e.suppressed
	e.last, e.suppressed = now, 0
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "repeated", n)
	}
	l.log.Warn(msg, args...)
}
