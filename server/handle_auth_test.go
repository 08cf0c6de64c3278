package server_test

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/chat"
)

func TestSignupLoginLogout(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	var out authOut
	r := c.must(201, "POST", "/api/v1/auth/signup", map[string]string{"username": "Alice", "password": "correct horse", "display_name": "  Alice A.  "})
	r.decode(t, &out)
	if out.User.Username != "alice" || out.User.DisplayName != "Alice A." || out.User.ID == 0 || len(out.Token) < 40 {
		t.Fatalf("signup answered %+v", out)
	}
	cookie := r.Header.Get("Set-Cookie")
	for _, want := range []string{"parley_session=" + out.Token, "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("cookie %q lacks %q", cookie, want)
		}
	}
	if strings.Contains(cookie, "Secure") {
		t.Errorf("cookie over plain HTTP must not be Secure: %q", cookie)
	}

	// the cookie authenticates
	var me struct{ User chat.User }
	c.must(200, "GET", "/api/v1/me", nil).decode(t, &me)
	if me.User.ID != out.User.ID {
		t.Fatalf("me = %+v", me.User)
	}
	// so does the bearer token, on a client without cookies
	b := e.client()
	b.token = out.Token
	b.must(200, "GET", "/api/v1/me", nil)

	// logout revokes the session server-side: the token stops working too
	c.must(204, "POST", "/api/v1/auth/logout", nil)
	code, _ := c.must(401, "GET", "/api/v1/me", nil).errCode(t)
	if code != "unauthenticated" {
		t.Fatalf("after logout: %s", code)
	}
	b.must(401, "GET", "/api/v1/me", nil)

	// log back in, with any case of the username
	var in authOut
	c.must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "ALICE", "password": "correct horse"}).decode(t, &in)
	if in.User.ID != out.User.ID || in.Token == out.Token {
		t.Fatalf("login answered %+v", in)
	}
	c.must(200, "GET", "/api/v1/me", nil)
}

func TestAuthErrors(t *testing.T) {
	e := newEnv(t)
	_, alice := e.signup("alice")
	big := `{"username":"bob","password":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name         string
		method, path string
		body         any
		token        string
		header       map[string]string
		status       int
		code, field  string
	}{
		{"duplicate username", "POST", "/api/v1/auth/signup", map[string]string{"username": "alice", "password": "password1"}, "", nil, 409, "username_taken", "username"},
		{"duplicate username in another case", "POST", "/api/v1/auth/signup", map[string]string{"username": "ALIce", "password": "password1"}, "", nil, 409, "username_taken", "username"},
		{"short username", "POST", "/api/v1/auth/signup", map[string]string{"username": "al", "password": "password1"}, "", nil, 400, "validation_failed", "username"},
		{"long username", "POST", "/api/v1/auth/signup", map[string]string{"username": strings.Repeat("a", 33), "password": "password1"}, "", nil, 400, "validation_failed", "username"},
		{"bad username characters", "POST", "/api/v1/auth/signup", map[string]string{"username": "al ice", "password": "password1"}, "", nil, 400, "validation_failed", "username"},
		{"unicode username", "POST", "/api/v1/auth/signup", map[string]string{"username": "ålice", "password": "password1"}, "", nil, 400, "validation_failed", "username"},
		{"short password", "POST", "/api/v1/auth/signup", map[string]string{"username": "bob", "password": "1234567"}, "", nil, 400, "validation_failed", "password"},
		{"long password", "POST", "/api/v1/auth/signup", map[string]string{"username": "bob", "password": strings.Repeat("p", 257)}, "", nil, 400, "validation_failed", "password"},
		{"blank display name", "POST", "/api/v1/auth/signup", map[string]string{"username": "bob", "password": "password1", "display_name": "   "}, "", nil, 400, "validation_failed", "display_name"},
		{"long display name", "POST", "/api/v1/auth/signup", map[string]string{"username": "bob", "password": "password1", "display_name": strings.Repeat("é", 65)}, "", nil, 400, "validation_failed", "display_name"},
		{"wrong type", "POST", "/api/v1/auth/signup", `{"username": 5, "password": "password1"}`, "", nil, 400, "validation_failed", "username"},
		{"malformed json", "POST", "/api/v1/auth/signup", `{"username":`, "", nil, 400, "invalid_json", ""},
		{"json array", "POST", "/api/v1/auth/signup", `["alice"]`, "", nil, 400, "invalid_json", ""},
		{"empty body", "POST", "/api/v1/auth/login", ``, "", nil, 400, "invalid_json", ""},
		{"trailing data", "POST", "/api/v1/auth/login", `{"username":"a"} {}`, "", nil, 400, "invalid_json", ""},
		{"trailing braces", "POST", "/api/v1/auth/login", `{"username":"a","password":"b"}}}}garbage`, "", nil, 400, "invalid_json", ""},
		{"trailing garbage", "POST", "/api/v1/auth/login", `{"username":"a","password":"b"} x`, "", nil, 400, "invalid_json", ""},
		{"oversized body", "POST", "/api/v1/auth/signup", big, "", nil, 413, "too_large", ""},
		{"wrong password", "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "wrong password"}, "", nil, 401, "unauthenticated", ""},
		{"unknown user", "POST", "/api/v1/auth/login", map[string]string{"username": "nobody", "password": "whatever1"}, "", nil, 401, "unauthenticated", ""},
		{"invalid username at login", "POST", "/api/v1/auth/login", map[string]string{"username": "x", "password": "whatever1"}, "", nil, 401, "unauthenticated", ""},
		{"no session", "GET", "/api/v1/me", nil, "", nil, 401, "unauthenticated", ""},
		{"garbage token", "GET", "/api/v1/me", nil, "not-a-token", nil, 401, "unauthenticated", ""},
		{"unknown api path", "GET", "/api/v1/nope", nil, alice.Token, nil, 404, "not_found", ""},
		{"wrong method", "GET", "/api/v1/auth/signup", nil, "", nil, 405, "method_not_allowed", ""},
		{"patch me: bad name", "PATCH", "/api/v1/me", map[string]any{"display_name": ""}, alice.Token, nil, 400, "validation_failed", "display_name"},
		{"password: wrong current", "POST", "/api/v1/me/password", map[string]string{"current_password": "nope nope", "new_password": "another one"}, alice.Token, nil, 403, "forbidden", "current_password"},
		{"password: short new", "POST", "/api/v1/me/password", map[string]string{"current_password": "correct horse", "new_password": "short"}, alice.Token, nil, 400, "validation_failed", "new_password"},
		{"NUL in a field", "POST", "/api/v1/auth/signup", `{"username":"bob","password":"password1","display_name":"a\u0000b"}`, "", nil, 400, "validation_failed", ""},
		{"NUL in a username at login", "POST", "/api/v1/auth/login", `{"username":"a\u0000","password":"password1"}`, "", nil, 400, "validation_failed", ""},
		{"NUL in a search", "GET", "/api/v1/users?q=a%00", nil, alice.Token, nil, 400, "validation_failed", "q"},
		{"NUL in a message", "POST", "/api/v1/conversations/1/messages", `{"client_id":"x","body":"a\u0000"}`, alice.Token, nil, 400, "validation_failed", ""},
		{"bad invite code", "GET", "/api/v1/invites/a%00b", nil, alice.Token, nil, 404, "not_found", ""},
		{"bearer is exempt from origin checks", "PATCH", "/api/v1/me", map[string]any{"display_name": "A"}, alice.Token, map[string]string{"Origin": "https://evil.example"}, 200, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client()
			c.token = tc.token
			for k, v := range tc.header {
				c.header.Set(k, v)
			}
			r := c.do(tc.method, tc.path, tc.body)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if tc.code == "" {
				return
			}
			code, field := r.errCode(t)
			if code != tc.code || field != tc.field {
				t.Fatalf("error %s/%s, want %s/%s", code, field, tc.code, tc.field)
			}
		})
	}
}

func TestCrossOriginCookieRequestsAreRefused(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.AllowedOrigins = []string{"https://chat.example.com"} })
	c, _ := e.signup("alice")
	patch := map[string]string{"display_name": "Changed"}

	c.header.Set("Origin", "https://evil.example")
	code, _ := c.must(403, "PATCH", "/api/v1/me", patch).errCode(t)
	if code != "bad_origin" {
		t.Fatalf("code %s", code)
	}
	c.header.Del("Origin")
	c.header.Set("Sec-Fetch-Site", "cross-site")
	c.must(403, "POST", "/api/v1/auth/logout", nil)
	c.header.Del("Sec-Fetch-Site")

	// no effect: the name is unchanged and the session still works
	var me struct{ User chat.User }
	c.must(200, "GET", "/api/v1/me", nil).decode(t, &me)
	if me.User.DisplayName != "alice" {
		t.Fatalf("refused request had an effect: %+v", me.User)
	}
	// a safe method from anywhere is fine; a same-origin or allowed one too
	c.header.Set("Origin", "https://evil.example")
	c.must(200, "GET", "/api/v1/me", nil)
	c.header.Set("Origin", e.ts.URL)
	c.must(200, "PATCH", "/api/v1/me", patch)
	c.header.Set("Origin", "https://chat.example.com")
	c.must(200, "PATCH", "/api/v1/me", patch)
	c.header.Set("Origin", "https://evil.example")
	c.header.Set("Sec-Fetch-Site", "same-origin")
	c.must(200, "PATCH", "/api/v1/me", patch)

	// logging in from a foreign page (login CSRF) is refused as well
	l := e.client()
	l.header.Set("Origin", "https://evil.example")
	l.must(403, "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "correct horse"})
}

func TestPasswordChangeRevokesOtherSessions(t *testing.T) {
	e := newEnv(t)
	c, out := e.signup("alice")
	other := e.client()
	other.must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "correct horse"})
	bot := e.client()
	bot.token = out.Token // the signup session, used by bearer from elsewhere

	c.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "correct horse", "new_password": "battery staple"})
	c.must(200, "GET", "/api/v1/me", nil) // this session stays
	other.must(401, "GET", "/api/v1/me", nil)

	// the signup session is the one that changed it, so it stays too
	bot.must(200, "GET", "/api/v1/me", nil)
	e.client().must(401, "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "correct horse"})
	e.client().must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "battery staple"})
}

func TestSignupClosed(t *testing.T) {
	var cfg struct {
		Signup         string
		MaxUploadBytes int64 `json:"max_upload_bytes"`
		LinkPreviews   bool  `json:"link_previews"`
	}
	newEnv(t).client().must(200, "GET", "/api/v1/config", nil).decode(t, &cfg)
	if cfg.Signup != "open" || cfg.MaxUploadBytes != 25<<20 || cfg.LinkPreviews {
		t.Fatalf("config of an open server: %+v", cfg)
	}
	e := newEnv(t, func(o *server.Options) { o.SignupOpen = false })
	code, _ := e.client().must(403, "POST", "/api/v1/auth/signup", map[string]string{"username": "alice", "password": "password1"}).errCode(t)
	if code != "signup_closed" {
		t.Fatal(code)
	}
	e.client().must(200, "GET", "/api/v1/config", nil).decode(t, &cfg)
	if cfg.Signup != "closed" {
		t.Fatalf("config of a closed server: %+v", cfg)
	}
	// an admin-created user logs in
	if _, err := e.srv.Accounts().CreateUser(context.Background(), "Carol", "password1", ""); err != nil {
		t.Fatal(err)
	}
	e.client().must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "carol", "password": "password1"})
	if err := e.srv.Accounts().ResetPassword(context.Background(), "carol", "password2"); err != nil {
		t.Fatal(err)
	}
	e.client().must(401, "POST", "/api/v1/auth/login", map[string]string{"username": "carol", "password": "password1"})
	e.client().must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "carol", "password": "password2"})
}

func TestAuthRateLimits(t *testing.T) {
	e := newEnv(t, func(o *server.Options) {
		o.Limits = chat.Limits{
			Signup:    chat.Rate{Per: 0.01, Burst: 2},
			LoginIP:   chat.Rate{Per: 0.01, Burst: 5},
			LoginUser: chat.Rate{Per: 0.01, Burst: 3},
		}
	})
	e.signup("alice")
	e.signup("bob")
	r := e.client().must(429, "POST", "/api/v1/auth/signup", map[string]string{"username": "carol", "password": "password1"})
	if code, _ := r.errCode(t); code != "rate_limited" {
		t.Fatal(code)
	}
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}

	// per username: three tries for alice, then 429 even with the right password
	for range 3 {
		e.client().must(401, "POST", "/api/v1/auth/login", map[string]string{"username": "alice", "password": "wrong pass"})
	}
	e.client().must(429, "POST", "/api/v1/auth/login", map[string]string{"username": "Alice", "password": "correct horse"})
	// per IP: bob still has tries of his own, until the address runs out
	e.client().must(200, "POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "correct horse"})
	e.client().must(429, "POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "correct horse"})

	// X-Forwarded-For from a peer that is not a trusted proxy changes nothing
	far := e.client()
	far.header.Set("X-Forwarded-For", "203.0.113.9")
	far.must(429, "POST", "/api/v1/auth/login", map[string]string{"username": "bob", "password": "correct horse"})

	// behind a trusted proxy (10.0.0.0/8 here), each forwarded client has its own bucket
	n := 0
	login := func(proxy, xff string) int {
		n++ // a new username each time, so only the IP limit applies
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"username":"nobody`+strconv.Itoa(n)+`","password":"whatever1"}`))
		req.RemoteAddr = proxy + ":4000"
		req.Header.Set("X-Forwarded-For", xff)
		rec := httptest.NewRecorder()
		e.srv.ServeHTTP(rec, req)
		return rec.Code
	}
	for i := range 5 {
		if got := login("10.0.0.2", "198.51.100.7"); got != 401 {
			t.Fatalf("try %d from client 198.51.100.7: %d", i, got)
		}
	}
	if got := login("10.0.0.2", "198.51.100.7"); got != 429 {
		t.Fatalf("sixth try: %d, want 429", got)
	}
	// a spoofed left-most hop does not help: the right-most untrusted one counts
	if got := login("10.0.0.2", "192.0.2.1, 198.51.100.7"); got != 429 {
		t.Fatalf("spoofed hop: %d, want 429", got)
	}
	if got := login("10.0.0.3", "198.51.100.8, 10.0.0.9"); got != 401 {
		t.Fatalf("another client through two proxies: %d, want 401", got)
	}
}

func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.SessionTTL = time.Hour })
	db := e.srv.Accounts().DB
	c, out := e.signup("alice")
	// an expired session is refused, and its stale cookie is cleared
	if _, err := db.Pool.Exec(context.Background(), "UPDATE sessions SET expires_at = now() - interval '1 second'"); err != nil {
		t.Fatal(err)
	}
	r := c.must(401, "GET", "/api/v1/me", nil)
	if !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("stale cookie not cleared: %q", r.Header.Get("Set-Cookie"))
	}
	// a session in use slides forward
	_, out = e.signup("bob")
	if _, err := db.Pool.Exec(context.Background(), "UPDATE sessions SET last_used_at = now() - interval '2 hours', expires_at = now() + interval '1 minute'"); err != nil {
		t.Fatal(err)
	}
	b := e.client()
	b.token = out.Token
	b.must(200, "GET", "/api/v1/me", nil)
	var left time.Duration
	var exp time.Time
	if err := db.Pool.QueryRow(context.Background(), "SELECT expires_at FROM sessions WHERE token_hash = (SELECT token_hash FROM sessions ORDER BY last_used_at DESC LIMIT 1)").Scan(&exp); err != nil {
		t.Fatal(err)
	}
	if left = time.Until(exp); left < 50*time.Minute {
		t.Fatalf("session did not slide: %v left", left)
	}
}

func TestSecureCookieBehindTLSProxy(t *testing.T) {
	e := newEnv(t, func(o *server.Options) {
		o.TrustedProxies = append(o.TrustedProxies, mustPrefix("127.0.0.1/32"))
	})
	c := e.client()
	c.header.Set("X-Forwarded-Proto", "https")
	r := c.must(201, "POST", "/api/v1/auth/signup", map[string]string{"username": "alice", "password": "password1"})
	if !strings.Contains(r.Header.Get("Set-Cookie"), "Secure") {
		t.Fatalf("cookie behind a TLS proxy is not Secure: %q", r.Header.Get("Set-Cookie"))
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
