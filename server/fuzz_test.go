package server

import (
	"context"
	"strings"
	"testing"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/store/storetest"
)

// FuzzDecodeJSON: no body makes the decoder panic or answer anything but a
// client error.
func FuzzDecodeJSON(f *testing.F) {
	for _, seed := range []string{`{}`, `{"client_id":"x","body":"y"}`, `{"client_id":"x","body":"y"}}}}garbage`,
		`{"user_ids":[1,2,3],"role":"admin"}`, `{"a":` + strings.Repeat("[", 10000), `{"body":"\u0000"}`, `[1]`, `{"limit":1e400}`,
		"{\"body\":\"\xff\"}", `{"pinned":"yes"}`, ` {} `, `{}{}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in struct {
			ClientID string  `json:"client_id"`
			Body     string  `json:"body"`
			UserIDs  []int64 `json:"user_ids"`
			Pinned   *bool   `json:"pinned"`
			Limit    *int64  `json:"limit"`
		}
		err := decodeJSON(body, &in)
		if err == nil {
			return
		}
		if _, status, _ := toError(err); status < 400 || status >= 500 {
			t.Fatalf("%q: %v answers %d", body, err, status)
		}
	})
}

// FuzzFrame: no client frame makes the WebSocket panic, close, or answer
// with a server error.
func FuzzFrame(f *testing.F) {
	for _, seed := range []string{`{"type":"ping"}`, `{"type":"message.send","data":{"conversation_id":1,"client_id":"a","body":"hi"}}`,
		`{"type":"receipt","data":{"conversation_id":1,"read_seq":-1}}`, `{"type":"typing","data":{"conversation_id":"x"}}`,
		`{"type":"nope"}`, `{"type":"message.send","data":null}`, `[]`, `"x"`, `{"type":"receipt","data":{"conversation_id":9223372036854775807,"delivered_seq":1}}`,
		`{"type":"message.send","data":{"conversation_id":1,"client_id":"` + strings.Repeat("é", 70) + `","body":"x"}}`} {
		f.Add([]byte(seed))
	}
	db := storetest.New(f)
	s, err := New(Options{DB: db, Hasher: chat.NewHasher(chat.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Shutdown(context.Background()) })
	u, err := s.chat.CreateUser(context.Background(), "fuzzer", "password1", "")
	if err != nil {
		f.Fatal(err)
	}
	c := s.hub.newConn("fuzz", nil, chat.Actor{User: u}, func() {})
	f.Fuzz(func(t *testing.T, raw []byte) {
		c.handle(context.Background(), raw)
		for _, frame := range c.take() {
			if strings.Contains(string(frame), `"internal"`) || strings.Contains(string(frame), `"unavailable"`) {
				t.Fatalf("%q answered %s", raw, frame)
			}
		}
		select {
		case <-c.done:
			t.Fatalf("%q closed the connection", raw)
		default:
		}
	})
}
