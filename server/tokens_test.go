package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

type tokenOut struct {
	ID         int64   `json:"id"`
	Name       string  `json:"name"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	ExpiresAt  *string `json:"expires_at"`
}

// TestTokens: a personal access token is shown once, works as a Bearer
// token on the API and the WebSocket, records its use, keeps its expiry,
// and stops working at once when revoked (its sockets closed); one user's
// tokens are theirs alone.
func TestTokens(t *testing.T) {
	e := newEnv(t)
	alice, eve := e.user("alice"), e.user("eve")
	var made struct {
		Token  tokenOut
		Secret string
	}
	alice.must(201, "POST", "/api/v1/me/tokens", map[string]any{"name": " CI deploys "}).decode(t, &made)
	if made.Token.Name != "CI deploys" || made.Token.ExpiresAt != nil || made.Token.LastUsedAt != nil || !strings.HasPrefix(made.Secret, "pat_") || len(made.Secret) < 40 {
		t.Fatalf("made %+v", made)
	}
	bot := &user{client: e.client(), ID: alice.ID, Username: "alice", Token: made.Secret}
	bot.client.token = made.Secret
	var me struct{ User struct{ Username string } }
	bot.must(200, "GET", "/api/v1/me", nil).decode(t, &me)
	if me.User.Username != "alice" {
		t.Fatalf("the token is %+v", me)
	}
	w := e.dial(made.Secret)
	var list struct{ Tokens []tokenOut }
	alice.must(200, "GET", "/api/v1/me/tokens", nil).decode(t, &list)
	if len(list.Tokens) != 1 || list.Tokens[0].LastUsedAt == nil || list.Tokens[0].ID != made.Token.ID {
		t.Fatalf("list %+v", list)
	}
	// the secret is never shown again
	r := alice.must(200, "GET", "/api/v1/me/tokens", nil)
	if strings.Contains(string(r.Body), made.Secret) || strings.Contains(string(r.Body), "secret") {
		t.Fatal("the list shows the secret")
	}
	// with an expiry, fixed: use does not extend it
	var timed struct{ Token tokenOut }
	alice.must(201, "POST", "/api/v1/me/tokens", map[string]any{"name": "a day", "expires_in_s": 86400}).decode(t, &timed)
	if timed.Token.ExpiresAt == nil {
		t.Fatal("no expiry")
	}
	// bad input
	for _, bad := range []map[string]any{{"name": ""}, {"name": strings.Repeat("x", 65)}, {"name": "x", "expires_in_s": 10}, {"name": "x", "expires_in_s": 400000000}} {
		alice.must(400, "POST", "/api/v1/me/tokens", bad)
	}
	// someone else's token: not found, not revoked
	eve.must(404, "DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", made.Token.ID), nil)
	eve.must(200, "GET", "/api/v1/me/tokens", nil).decode(t, &list)
	if len(list.Tokens) != 0 {
		t.Fatalf("eve sees %+v", list)
	}
	// revoked: the API refuses it at once and its socket closes
	alice.must(204, "DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", made.Token.ID), nil)
	bot.must(401, "GET", "/api/v1/me", nil)
	if code := w.waitClosed(); code != 4001 {
		t.Fatalf("close code %d, want 4001", code)
	}
	alice.must(404, "DELETE", fmt.Sprintf("/api/v1/me/tokens/%d", made.Token.ID), nil)
	// an expired token answers 401; a login session is no token
	db := e.srv.Accounts().DB
	db.Pool.Exec(context.Background(), "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = $1", timed.Token.ID)
	alice.must(200, "GET", "/api/v1/me/tokens", nil).decode(t, &list)
	if len(list.Tokens) != 0 {
		t.Fatalf("expired tokens listed: %+v", list)
	}
	var sessions int
	db.Pool.QueryRow(context.Background(), "SELECT count(*) FROM sessions WHERE user_id = $1 AND name IS NULL", alice.ID).Scan(&sessions)
	alice.must(404, "DELETE", "/api/v1/me/tokens/1", nil) // alice's login session has id 1
	if sessions == 0 {
		t.Fatal("no login session")
	}
	alice.must(200, "GET", "/api/v1/me", nil)
}
