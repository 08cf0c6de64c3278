package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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
// writerPair is a hub connection served by its real writer over a
// hijacked socket, and a client reading it: frames gets each text frame
// the client reads, and closes when the connection ends.
func writerPair(t *testing.T) (h *Hub, c *Conn, frames chan string, got *atomic.Int64, ctx context.Context) {
	t.Helper()
	h = newHub(hubOptions{Log: slog.New(slog.DiscardHandler), Metrics: prometheus.NewRegistry(), Node: "n1"})
	conns := make(chan *Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &frameWriter{ResponseWriter: w}
		ws, err := websocket.Accept(cw, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return
		}
		c := h.newConn("t", ws, chat.Actor{}, func() {})
		c.raw = cw.conn
		conns <- c
		c.writer(context.Background())
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	ws, _, err := websocket.Dial(ctx, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { ws.CloseNow() })
	c = <-conns
	t.Cleanup(func() { c.close(websocket.StatusNormalClosure, "") })
	got = new(atomic.Int64)
	frames = make(chan string, 1000)
	go func() {
		for {
			typ, b, err := ws.Read(ctx)
			if err != nil {
				close(frames)
				return
			}
			if typ != websocket.MessageText {
				t.Errorf("a frame of type %v", typ)
			}
			got.Add(1)
			frames <- string(b)
		}
	}()
	return h, c, frames, got, ctx
}

// TestWriterFramesEverySize: the writer's own framing, checked by the
// library's reader, at each length encoding's edges (7-bit, 16-bit, 64-bit),
// one frame at a time and all in one batch.
func TestWriterFramesEverySize(t *testing.T) {
	_, c, frames, _, _ := writerPair(t)
	if f := <-frames; !strings.HasPrefix(f, `{"type":"hello",`) {
		t.Fatalf("first frame %s", f)
	}
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 200000}
	payload := func(n int) string { return strings.Repeat(string(rune('a'+n%26)), n) }
	check := func() {
		t.Helper()
		for _, n := range sizes {
			f, ok := <-frames
			if !ok {
				t.Fatalf("the connection ended before the frame of %d bytes", n)
			}
			if f != payload(n) {
				t.Fatalf("frame of %d bytes arrived as %d bytes", n, len(f))
			}
		}
	}
	for _, n := range sizes {
		c.enqueue([]byte(payload(n)), false)
		time.Sleep(2 * wsWriteGap) // one write each
	}
	check()
	for _, n := range sizes {
		c.enqueue([]byte(payload(n)), false)
	}
	check()
}

func TestWriterPacesABusySocket(t *testing.T) {
	h, c, frames, got, ctx := writerPair(t)
	if f := <-frames; !strings.HasPrefix(f, `{"type":"hello",`) {
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
