package server_test

import (
	"fmt"
	"testing"
)

// TestBots: a bot is made by its owner with a secret shown once; it signs
// in with the secret only, chats like anyone, is marked as a bot wherever
// a user is shown, and once deleted is deactivated: its secret and sockets
// end at once, its messages stay, and search for users skips it.
func TestBots(t *testing.T) {
	e := newEnv(t)
	alice, eve := e.user("alice"), e.user("eve")
	var made struct {
		Bot    userOut
		Secret string
	}
	alice.must(201, "POST", "/api/v1/bots", map[string]any{"username": "deploybot", "display_name": "Deploy Bot"}).decode(t, &made)
	if !made.Bot.Bot || made.Bot.OwnerID == nil || *made.Bot.OwnerID != alice.ID || made.Bot.DisplayName != "Deploy Bot" || len(made.Secret) < 40 {
		t.Fatalf("made %+v", made)
	}
	alice.must(409, "POST", "/api/v1/bots", map[string]any{"username": "deploybot"})
	alice.must(409, "POST", "/api/v1/bots", map[string]any{"username": "eve"})
	alice.must(400, "POST", "/api/v1/bots", map[string]any{"username": "no spaces"})
	bot := &user{client: e.client(), ID: made.Bot.ID, Username: "deploybot", Token: made.Secret}
	bot.client.token = made.Secret
	var me struct{ User userOut }
	bot.must(200, "GET", "/api/v1/me", nil).decode(t, &me)
	if !me.User.Bot || me.User.Username != "deploybot" {
		t.Fatalf("the bot is %+v", me.User)
	}
	// no password sign-in, and no bots of its own
	e.client().must(401, "POST", "/api/v1/auth/login", map[string]any{"username": "deploybot", "password": "anything at all"})
	bot.must(403, "POST", "/api/v1/bots", map[string]any{"username": "subbot"})
	// it chats like anyone, marked as a bot
	conv := alice.direct(bot)
	if conv.Peer == nil || !conv.Peer.Bot {
		t.Fatalf("the bot's chat %+v", conv)
	}
	aw := e.dial(alice.Token)
	bw := e.dial(made.Secret)
	bot.say(conv.ID, "build 42 is green")
	aw.expect("message.created", "presence", "conversation.updated", "receipt")
	var list struct{ Bots []userOut }
	alice.must(200, "GET", "/api/v1/bots", nil).decode(t, &list)
	if len(list.Bots) != 1 || list.Bots[0].ID != made.Bot.ID {
		t.Fatalf("bots %+v", list)
	}
	eve.must(200, "GET", "/api/v1/bots", nil).decode(t, &list)
	if len(list.Bots) != 0 {
		t.Fatalf("eve's bots %+v", list)
	}
	// only its owner deletes it
	eve.must(404, "DELETE", fmt.Sprintf("/api/v1/bots/%d", made.Bot.ID), nil)
	alice.must(404, "DELETE", fmt.Sprintf("/api/v1/bots/%d", eve.ID), nil)
	alice.must(204, "DELETE", fmt.Sprintf("/api/v1/bots/%d", made.Bot.ID), nil)
	bot.must(401, "GET", "/api/v1/me", nil)
	if code := bw.waitClosed(); code != 4001 {
		t.Fatalf("the bot's socket closed with %d, want 4001", code)
	}
	alice.must(404, "DELETE", fmt.Sprintf("/api/v1/bots/%d", made.Bot.ID), nil)
	alice.must(200, "GET", "/api/v1/bots", nil).decode(t, &list)
	if len(list.Bots) != 0 {
		t.Fatalf("a deleted bot listed: %+v", list)
	}
	var found struct{ Users []userOut }
	alice.must(200, "GET", "/api/v1/users?q=deploy", nil).decode(t, &found)
	if len(found.Users) != 0 {
		t.Fatalf("a deactivated bot is found: %+v", found)
	}
	var page struct{ Messages []message }
	alice.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), nil).decode(t, &page)
	if len(page.Messages) != 1 || page.Messages[0].Body != "build 42 is green" {
		t.Fatalf("the bot's messages went: %+v", page)
	}
}
