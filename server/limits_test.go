package server_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/server"
)

// TestSlowBodiesAreCutOff: a client that sends a body a byte at a time is
// cut off once the body timeout passes; a WebSocket lives on past it.
func TestSlowBodiesAreCutOff(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.BodyTimeout = time.Second })
	alice := e.user("alice")
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_, _ = conn.Write([]byte("POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"))
	done := make(chan struct{})
	go func() { // a byte every 300 ms
		defer close(done)
		for range 30 {
			time.Sleep(300 * time.Millisecond)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(8 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		res.Body.Close()
		if res.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("a slow body answered %d", res.StatusCode)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("a slow body held its connection for %v", d)
	}
	<-done

	// a socket is not cut off by the body timeout
	w := e.dial(alice.Token)
	time.Sleep(1500 * time.Millisecond)
	w.send("ping", map[string]any{})
	w.expect("pong")
}

// TestSocketCaps: a user's connections to a node are capped, with a close
// reason that says why; closing one makes room.
func TestSocketCaps(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.MaxSocketsPerUser = 3 })
	alice := e.user("alice")
	var open []*wsClient
	for range 3 {
		open = append(open, e.dial(alice.Token))
	}
	extra := e.dialRaw(alice.Token, nil)
	if code := extra.waitClosed(); code != websocket.StatusPolicyViolation {
		t.Fatalf("the fourth socket closed with %v", code)
	}
	if !strings.Contains(extra.closedReason(), "too many connections for this user") {
		t.Fatalf("close reason %q", extra.closedReason())
	}
	open[0].c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(5 * time.Second)
	for {
		w := e.dialRaw(alice.Token, nil)
		if f := w.nextWithin(time.Second); f.Type == "hello" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no room after a socket closed")
		}
	}
	// another user is not affected
	e.dial(e.user("bob").Token)
	_ = context.Background()
}
