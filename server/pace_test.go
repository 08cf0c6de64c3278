package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
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

// TestWriterPacesABusySocket: frames queued to a socket faster than one per
// wsWriteGap share writes; every frame still arrives, in order, and a
// socket that goes quiet gets its next frame in a write of its own.
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

// TestTextHeaderBytes: the shortest length encoding at each edge, as
// RFC 6455 §5.2 requires (a reader may refuse a longer one).
func TestTextHeaderBytes(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{1 << 32, []byte{0x81, 127, 0, 0, 0, 1, 0, 0, 0, 0}},
	} {
		if got := appendTextHeader(nil, c.n); !bytes.Equal(got, c.want) {
			t.Errorf("header of %d bytes: % x, want % x", c.n, got, c.want)
		}
	}
}

// TestFrameConnStops: no data frame follows the library's close frame, and
// after a failed write neither path writes again.
func TestFrameConnStops(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	go io.Copy(io.Discard, b)
	fc := &frameConn{Conn: a}
	if err := fc.writeText([][]byte{[]byte("one")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fc.Write([]byte{0x88, 0x02, 0x03, 0xe8}); err != nil { // close, 1000
		t.Fatal(err)
	}
	if err := fc.writeText([][]byte{[]byte("two")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a frame after the close frame: %v", err)
	}

	a2, b2 := net.Pipe()
	fc = &frameConn{Conn: a2}
	b2.Close() // the peer is gone: the next write fails
	if err := fc.writeText([][]byte{[]byte("lost")}); err == nil {
		t.Fatal("a write to a closed peer succeeded")
	}
	if _, err := fc.Write([]byte{0x8a, 0x00}); err == nil { // a pong
		t.Fatal("the library wrote after a failed batch")
	}
}
