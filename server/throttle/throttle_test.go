package throttle

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestWarnIsThrottled(t *testing.T) {
	var buf bytes.Buffer
	l := New(slog.New(slog.NewTextHandler(&buf, nil)), 50*time.Millisecond)
	for range 1000 {
		l.Warn("events left in the outbox", "count", 1)
	}
	l.Warn("another message")
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 1001 warnings of two kinds:\n%s", n, buf.String())
	}
	time.Sleep(60 * time.Millisecond)
	l.Warn("events left in the outbox", "count", 1)
	if !strings.Contains(buf.String(), "repeated=999") {
		t.Fatalf("the next line does not count what was left out:\n%s", buf.String())
	}
}
