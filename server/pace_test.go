package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parleychat/parley/server/chat"
)

// TestWriterPacesABusySocket: frames queued to a socket faster than one per
// wsWriteGap share writes; every frame still arrives, in order, and a
// socket that goes quiet gets its next frame in a write of its own.
func TestWriterPacesABusySocket(t *testing.T) {
	h := newHub(hubOptions{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry(), Node: "n1"})
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &corkWriter{ResponseWriter: w}
		ws, err := websocket.Accept(cw, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		c := h.newConn("t", ws, chat.Actor{}, func() {})
		c.cork = cw.conn
		conns <- c
		c.writer(context.Background())
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	c := <-conns
	defer c.close(websocket.StatusNormalClosure, "")
	var got atomic.Int64
	frames := make(chan string, 1000)
	go func() {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				close(frames)
				return
			}
			got.Add(1)
			frames <- string(b)
		}
	}()
	if f := <-frames; f[:16] != `{"type":"hello",` {
		t.Fatalf("first frame %s", f)
	}
	wait := func(n int64) {
		t.Helper()
		for got.Load() < n {
			if ctx.Err() != nil {
				t.Fatalf("%d of %d frames arrived", got.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	written := func() float64 { return testutil.ToFloat64(h.m.writes) }

	// 50 frames a millisecond or more apart: without pacing, 50 writes
	before := written()
	const n = 50
	for i := range n {
		c.enqueue([]byte(`{"n":`+string(rune('0'+i%10))+`}`), false)
		time.Sleep(time.Millisecond)
	}
	wait(1 + n)
	if w := written() - before; w > n/2 {
		t.Fatalf("%d frames took %v writes", n, w)
	}
	for i := range n {
		if f, want := <-frames, `{"n":`+string(rune('0'+i%10))+`}`; f != want {
			t.Fatalf("frame %d is %s, want %s", i, f, want)
		}
	}

	// quiet for longer than the gap: the next frame is one write
	time.Sleep(3 * wsWriteGap)
	before = written()
	c.enqueue([]byte(`{"n":"last"}`), false)
	wait(2 + n)
	if w := written() - before; w != 1 {
		t.Fatalf("a frame on a quiet socket took %v writes", w)
	}
}
