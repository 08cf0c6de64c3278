package server_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/chat"
)

type webhookOut struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	ConversationID int64  `json:"conversation_id"`
	BotID          int64  `json:"bot_id"`
	URL            string `json:"url"`
}

// post sends a raw body to a webhook URL.
func post(t *testing.T, url, contentType, body string) (int, string) {
	t.Helper()
	res, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestWebhooks: a channel's admins make a webhook; its URL takes Slack's
// bodies and posts as the webhook's own bot, shown under the name asked
// for; members and strangers cannot see or make webhooks; a deleted
// webhook's URL is 404 at once and its messages stay.
func TestWebhooks(t *testing.T) {
	ge := newGroup(t)
	ch := ge.general()
	hooks := fmt.Sprintf("/api/v1/conversations/%d/webhooks", ch)
	var made struct{ Webhook webhookOut }
	ge.admin.must(201, "POST", hooks, map[string]any{"name": "CI"}).decode(t, &made)
	w := made.Webhook
	if w.Name != "CI" || w.ConversationID != ch || !strings.HasPrefix(w.URL, ge.e.ts.URL+"/hooks/") {
		t.Fatalf("made %+v", w)
	}
	if secret := strings.TrimPrefix(w.URL, ge.e.ts.URL+"/hooks/"); len(secret) < 22 { // 128 bits in base64
		t.Fatalf("a secret of %d characters", len(secret))
	}
	// who may manage them
	ge.member.must(403, "POST", hooks, map[string]any{"name": "mine"})
	ge.member.must(403, "GET", hooks, nil)
	ge.eve.must(404, "GET", hooks, nil)
	ge.removed.must(404, "POST", hooks, map[string]any{"name": "x"})
	ge.owner.must(400, "POST", hooks, map[string]any{"name": ""})
	dm := ge.member.direct(ge.admin)
	ge.member.must(400, "POST", fmt.Sprintf("/api/v1/conversations/%d/webhooks", dm.ID), map[string]any{"name": "x"})
	ge.eve.must(404, "POST", fmt.Sprintf("/api/v1/conversations/%d/webhooks", dm.ID), map[string]any{"name": "x"})
	var list struct{ Webhooks []webhookOut }
	ge.owner.must(200, "GET", hooks, nil).decode(t, &list)
	if len(list.Webhooks) != 1 || list.Webhooks[0].URL != w.URL {
		t.Fatalf("listed %+v", list)
	}
	// the webhook's bot is not among its maker's bots
	var bots struct{ Bots []userOut }
	ge.admin.must(200, "GET", "/api/v1/bots", nil).decode(t, &bots)
	if len(bots.Bots) != 0 {
		t.Fatalf("bots %+v", bots)
	}

	mw := ge.e.dial(ge.member.Token)
	bodies := []struct {
		name, contentType, body string
		status                  int
		text, as                string
	}{
		{"json", "application/json", `{"text":"build 42 is green"}`, 200, "build 42 is green", "CI"},
		{"json with a name", "application/json", `{"text":"deployed","username":"Deployer"}`, 200, "deployed", "Deployer"},
		{"form payload", "application/x-www-form-urlencoded", "payload=" + url.QueryEscape(`{"text":"from a form"}`), 200, "from a form", "CI"},
		{"curl -d json", "application/x-www-form-urlencoded", `{"text":"curl -d"}`, 200, "curl -d", "CI"},
		{"no content type", "", `{"text":"plain"}`, 200, "plain", "CI"},
		{"empty text", "application/json", `{"text":"  "}`, 400, "", ""},
		{"no text", "application/json", `{}`, 400, "", ""},
		{"empty body", "application/json", ``, 400, "", ""},
		{"not json", "application/json", `hello`, 400, "", ""},
		{"form without payload", "application/x-www-form-urlencoded", "text=hi", 400, "", ""},
		{"too long", "application/json", `{"text":"` + strings.Repeat("a", 4001) + `"}`, 400, "", ""},
		{"oversized", "application/json", `{"text":"` + strings.Repeat("a", 70<<10) + `"}`, 413, "", ""},
		{"bad username", "application/json", `{"text":"x","username":"` + strings.Repeat("n", 100) + `"}`, 400, "", ""},
	}
	for _, b := range bodies {
		status, got := post(t, w.URL, b.contentType, b.body)
		if status != b.status {
			t.Fatalf("%s: %d %s, want %d", b.name, status, got, b.status)
		}
		if status != 200 {
			if !strings.Contains(got, `"error"`) {
				t.Fatalf("%s: no error body: %s", b.name, got)
			}
			continue
		}
		if got != "ok" {
			t.Fatalf("%s: answered %q", b.name, got)
		}
		var ev struct {
			Message struct {
				message
				SenderName *string `json:"sender_name"`
			}
		}
		mw.expect("message.created", "presence", "conversation.updated", "receipt", "group.changed").decode(t, &ev)
		if ev.Message.Body != b.text || ev.Message.SenderID != w.BotID || ev.Message.SenderName == nil || *ev.Message.SenderName != b.as {
			t.Fatalf("%s: posted %+v", b.name, ev.Message)
		}
	}
	// unknown secrets
	for _, u := range []string{ge.e.ts.URL + "/hooks/nope", ge.e.ts.URL + "/hooks/" + strings.Repeat("x", 300)} {
		if status, _ := post(t, u, "application/json", `{"text":"x"}`); status != 404 {
			t.Fatalf("%s: %d", u, status)
		}
	}
	// the bot is marked, and history keeps the name
	var page struct {
		Messages []struct {
			Seq        int64   `json:"seq"`
			SenderID   int64   `json:"sender_id"`
			SenderName *string `json:"sender_name"`
		}
	}
	ge.member.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", ch), nil).decode(t, &page)
	if n := len(page.Messages); n != 5 || page.Messages[1].SenderName == nil || *page.Messages[1].SenderName != "Deployer" {
		t.Fatalf("history %+v", page.Messages)
	}
	// deleted: 404 at once, the messages stay
	ge.member.must(403, "DELETE", fmt.Sprintf("%s/%d", hooks, w.ID), nil)
	ge.admin.must(204, "DELETE", fmt.Sprintf("%s/%d", hooks, w.ID), nil)
	ge.admin.must(404, "DELETE", fmt.Sprintf("%s/%d", hooks, w.ID), nil)
	if status, _ := post(t, w.URL, "application/json", `{"text":"after"}`); status != 404 {
		t.Fatalf("a deleted webhook answered %d", status)
	}
	ge.member.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", ch), nil).decode(t, &page)
	if len(page.Messages) != 5 {
		t.Fatalf("history after the delete %+v", page.Messages)
	}
	// the bot is in no search, and a deleted post keeps nothing of its name
	var found struct{ Users []userOut }
	ge.member.must(200, "GET", "/api/v1/users?q=hook", nil).decode(t, &found)
	if len(found.Users) != 0 {
		t.Fatalf("search finds %+v", found)
	}
	ge.admin.must(204, "DELETE", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", ch, page.Messages[1].Seq), nil)
	var upd struct {
		Message struct {
			Deleted    bool
			SenderName *string `json:"sender_name"`
		}
	}
	mw.expect("message.updated", "presence", "conversation.updated", "receipt", "group.changed").decode(t, &upd)
	if !upd.Message.Deleted || upd.Message.SenderName != nil {
		t.Fatalf("the deleted post %+v", upd.Message)
	}
	// a webhook of a channel that is deleted takes its bot with it
	var other struct{ Conversation conversation }
	ge.owner.must(201, "POST", ge.path("/channels"), map[string]any{"name": "alerts"}).decode(t, &other)
	var second struct{ Webhook webhookOut }
	ge.owner.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/webhooks", other.Conversation.ID), map[string]any{"name": "Pager"}).decode(t, &second)
	ge.owner.must(204, "DELETE", ge.path(fmt.Sprintf("/channels/%d", other.Conversation.ID)), nil)
	var users struct{ Users []adminUser }
	ge.owner.must(200, "GET", "/api/v1/admin/users?q=hook-", nil).decode(t, &users)
	if len(users.Users) != 2 || !users.Users[0].Deactivated || !users.Users[1].Deactivated {
		t.Fatalf("the webhooks' bots %+v", users.Users)
	}

	// both are in the audit log
	var audit struct {
		Entries []struct{ Action, Target string }
	}
	ge.owner.must(200, "GET", "/api/v1/admin/audit", nil).decode(t, &audit)
	var actions []string
	for _, a := range audit.Entries {
		actions = append(actions, a.Action)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "webhook.delete webhook.create") {
		t.Fatalf("audit %s", got)
	}
}

// TestWebhookRateLimit: a webhook posts at the send rate of its bot.
func TestWebhookRateLimit(t *testing.T) {
	e := newEnv(t, func(o *server.Options) { o.Limits.Send = chat.Rate{Per: 0.01, Burst: 3} })
	owner := e.user("owner")
	var g struct{ Group groupOut }
	owner.must(201, "POST", "/api/v1/groups", map[string]any{"name": "Ops"}).decode(t, &g)
	var made struct{ Webhook webhookOut }
	owner.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/webhooks", g.Group.Channels[0].ID), map[string]any{"name": "Alerts"}).decode(t, &made)
	for i := range 3 {
		if status, body := post(t, made.Webhook.URL, "application/json", fmt.Sprintf(`{"text":"alert %d"}`, i)); status != 200 {
			t.Fatalf("post %d: %d %s", i, status, body)
		}
	}
	if status, body := post(t, made.Webhook.URL, "application/json", `{"text":"one too many"}`); status != 429 || !strings.Contains(body, "rate_limited") {
		t.Fatalf("past the limit: %d %s", status, body)
	}
}
