package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/chat"
)

// TestLoginLimiterRules: who can and cannot lock whom out. Attempts come
// through the trusted proxy (10.0.0.0/8 here) with the client address in
// X-Forwarded-For.
func TestLoginLimiterRules(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.Limits = chat.DefaultLimits; o.Limits.Signup = chat.Rate{} })
	_, alice := e.signup("alice")
	e.signup("bob")
	login := func(from, name, password string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, name, password)))
		req.RemoteAddr = "10.0.0.2:4000"
		req.Header.Set("X-Forwarded-For", from)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		return rec
	}
	device := func(rec *httptest.ResponseRecorder) *http.Cookie {
		for _, c := range rec.Result().Cookies() {
			if c.Name == server.DeviceCookie {
				return c
			}
		}
		t.Fatal("no device cookie at login")
		return nil
	}
	// the owner's browser, which logged in once
	known := device(login("192.0.2.1", "alice", "correct horse"))

	// ten wrong passwords from ten addresses do not lock the owner out,
	// not even from a fresh address with a fresh browser
	for i := range 10 {
		if c := login(fmt.Sprintf("198.51.100.%d", i), "alice", "wrong guess").Code; c != 401 {
			t.Fatalf("guess %d: %d", i, c)
		}
	}
	if c := login("203.0.113.50", "alice", "correct horse").Code; c != 200 {
		t.Fatalf("the owner from a fresh address after ten guesses: %d", c)
	}

	// one address guessing runs out for itself only
	for range 10 {
		login("198.51.100.200", "alice", "wrong guess")
	}
	if c := login("198.51.100.200", "alice", "correct horse").Code; c != 429 {
		t.Fatalf("the guessing address: %d, want 429", c)
	}
	if c := login("203.0.113.51", "alice", "correct horse").Code; c != 200 {
		t.Fatalf("the owner elsewhere while one address guesses: %d", c)
	}

	// a distributed attack that spends the username's failures: its own
	// guesses are refused, a fresh browser waits, the owner's browser gets in
	for i := range 60 {
		login(fmt.Sprintf("198.18.%d.%d", i/250, i%250), "alice", "wrong guess")
	}
	if c := login("198.18.9.9", "alice", "another guess").Code; c != 429 {
		t.Fatalf("a guess after the failures are spent: %d", c)
	}
	if c := login("203.0.113.52", "alice", "correct horse").Code; c != 429 {
		t.Fatalf("a fresh browser after the failures are spent: %d (it must wait)", c)
	}
	if c := login("203.0.113.53", "alice", "correct horse", known).Code; c != 200 {
		t.Fatalf("the owner's own browser after the failures are spent: %d", c)
	}
	forged := &http.Cookie{Name: server.DeviceCookie, Value: known.Value + "x"}
	if c := login("203.0.113.54", "alice", "correct horse", forged).Code; c != 429 {
		t.Fatalf("a forged device token: %d", c)
	}
	// another user is untouched
	if c := login("198.18.9.9", "bob", "correct horse").Code; c != 200 {
		t.Fatalf("bob after alice's attack: %d", c)
	}

	// password changes: failed logins do not spend them, the user's own
	// wrong passwords do, and only theirs
	a := e.client()
	a.token = alice.Token
	for range 10 {
		a.must(403, "POST", "/api/v1/me/password", map[string]string{"current_password": "wrong one", "new_password": "a new password"})
	}
	a.must(429, "POST", "/api/v1/me/password", map[string]string{"current_password": "correct horse", "new_password": "a new password"})
	_, bob := e.signup("bob2")
	b := e.client()
	b.token = bob.Token
	b.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "correct horse", "new_password": "a new password"})
}
