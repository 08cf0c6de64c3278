package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClient is a real WebSocket client that records every frame it gets.
type wsClient struct {
	t      *testing.T
	c      *websocket.Conn
	frames chan frame
	mu     sync.Mutex
	closed error
	done   chan struct{}
}

type frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func (f frame) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(f.Data, v); err != nil {
		t.Fatalf("decode %s frame %s: %v", f.Type, f.Data, err)
	}
}

// dial connects with the bearer token and waits for hello.
func (e *env) dial(token string) *wsClient {
	e.t.Helper()
	w := e.dialRaw(token, nil)
	f := w.next()
	if f.Type != "hello" {
		e.t.Fatalf("first frame is %s, want hello", f.Type)
	}
	return w
}

func (e *env) dialRaw(token string, h http.Header) *wsClient {
	e.t.Helper()
	if h == nil {
		h = http.Header{}
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.ts.URL, "http")+"/api/v1/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		e.t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	w := &wsClient{t: e.t, c: c, frames: make(chan frame, 10000), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				w.mu.Lock()
				w.closed = err
				w.mu.Unlock()
				return
			}
			var f frame
			if err := json.Unmarshal(b, &f); err != nil {
				w.t.Errorf("server sent non-JSON frame %q", b)
				continue
			}
			checkFrame(w.t, b)
			w.frames <- f
		}
	}()
	e.t.Cleanup(func() { c.CloseNow() })
	return w
}

func (w *wsClient) send(typ string, data any) {
	w.t.Helper()
	b, _ := json.Marshal(map[string]any{"type": typ, "data": data})
	w.sendRaw(string(b))
}

func (w *wsClient) sendRaw(s string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		w.t.Fatalf("ws write: %v", err)
	}
}

// next returns the next frame, or fails after 10 s.
func (w *wsClient) next() frame {
	w.t.Helper()
	select {
	case f := <-w.frames:
		return f
	case <-time.After(10 * time.Second):
		w.t.Fatal("no frame within 10 s")
		return frame{}
	}
}

// expect skips frames until one of type typ arrives (skipped types must be
// in skip), or fails.
func (w *wsClient) expect(typ string, skip ...string) frame {
	w.t.Helper()
	for {
		f := w.next()
		if f.Type == typ {
			return f
		}
		ok := false
		for _, s := range skip {
			ok = ok || s == f.Type
		}
		if !ok {
			w.t.Fatalf("got %s frame %s while waiting for %s", f.Type, f.Data, typ)
		}
	}
}

// quiet asserts that no frame (other than the ignored types) arrives for d.
func (w *wsClient) quiet(d time.Duration, ignore ...string) {
	w.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f := <-w.frames:
			skip := false
			for _, s := range ignore {
				skip = skip || s == f.Type
			}
			if !skip {
				w.t.Fatalf("unexpected %s frame %s", f.Type, f.Data)
			}
		case <-deadline:
			return
		}
	}
}

// waitClosed waits for the server to close the connection and returns the
// close status.
func (w *wsClient) waitClosed() websocket.StatusCode {
	w.t.Helper()
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		w.t.Fatal("connection not closed within 10 s")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return websocket.CloseStatus(w.closed)
}

// closedReason is the reason of the server's close frame.
func (w *wsClient) closedReason() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ce websocket.CloseError
	if errors.As(w.closed, &ce) {
		return ce.Reason
	}
	return ""
}

// nextWithin returns the next frame, or an empty one after d.
func (w *wsClient) nextWithin(d time.Duration) frame {
	select {
	case f := <-w.frames:
		return f
	case <-time.After(d):
		return frame{}
	}
}

// user is a signed-up test user with a bearer client.
type user struct {
	*client
	ID       int64
	Username string
	Token    string
}

func (e *env) user(name string) *user {
	e.t.Helper()
	_, out := e.signup(name)
	c := e.client()
	c.token = out.Token
	return &user{client: c, ID: out.User.ID, Username: name, Token: out.Token}
}

type conversation struct {
	ID               int64    `json:"id"`
	Notify           string   `json:"notify"`
	Kind             string   `json:"kind"`
	Title            string   `json:"title"`
	Peer             *userOut `json:"peer"`
	LastSeq          int64    `json:"last_seq"`
	LastMessage      *message `json:"last_message"`
	DeliveredSeq     int64    `json:"delivered_seq"`
	ReadSeq          int64    `json:"read_seq"`
	UnreadCount      int64    `json:"unread_count"`
	Pinned           bool     `json:"pinned"`
	Archived         bool     `json:"archived"`
	Muted            bool     `json:"muted"`
	ClearedSeq       int64    `json:"cleared_seq"`
	JoinedSeq        int64    `json:"joined_seq"`
	MentionCount     int64    `json:"mention_count"`
	PeerDeliveredSeq *int64   `json:"peer_delivered_seq"`
	PeerReadSeq      *int64   `json:"peer_read_seq"`
	MemberCount      int64    `json:"member_count"`
}

type userOut struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Bot         bool   `json:"bot"`
	OwnerID     *int64 `json:"owner_id"`
}

type message struct {
	ID             int64  `json:"id"`
	ConversationID int64  `json:"conversation_id"`
	Seq            int64  `json:"seq"`
	SenderID       int64  `json:"sender_id"`
	ClientID       string `json:"client_id"`
	Body           string `json:"body"`
}

// direct opens the direct conversation with peer.
func (u *user) direct(peer *user) conversation {
	u.e.t.Helper()
	var out struct{ Conversation conversation }
	u.must(200, "POST", "/api/v1/direct", map[string]any{"user_id": peer.ID}).decode(u.e.t, &out)
	return out.Conversation
}

var clientSeq struct {
	sync.Mutex
	n int
}

func newClientID() string {
	clientSeq.Lock()
	defer clientSeq.Unlock()
	clientSeq.n++
	return fmt.Sprintf("cid-%d-%d", time.Now().UnixNano(), clientSeq.n)
}

// say sends a message by POST and returns it.
func (u *user) say(convID int64, body string) message {
	u.e.t.Helper()
	var out struct{ Message message }
	u.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", convID),
		map[string]any{"client_id": newClientID(), "body": body}).decode(u.e.t, &out)
	return out.Message
}

func (u *user) conversations() []conversation {
	u.e.t.Helper()
	var out struct{ Conversations []conversation }
	u.must(200, "GET", "/api/v1/conversations", nil).decode(u.e.t, &out)
	return out.Conversations
}

func (u *user) conversation(id int64) conversation {
	u.e.t.Helper()
	var out struct{ Conversation conversation }
	u.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d", id), nil).decode(u.e.t, &out)
	return out.Conversation
}
