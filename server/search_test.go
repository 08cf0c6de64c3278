package server_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type searchPage struct {
	Results []struct {
		Message        message
		ConversationID int64 `json:"conversation_id"`
		Title          string
	}
	HasMore bool `json:"has_more"`
}

func (u *user) search(params ...string) searchPage {
	u.e.t.Helper()
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		v.Set(params[i], params[i+1])
	}
	var p searchPage
	u.must(200, "GET", "/api/v1/search?"+v.Encode(), nil).decode(u.e.t, &p)
	return p
}

func bodies(p searchPage) []string {
	out := []string{}
	for _, r := range p.Results {
		out = append(out, r.Message.Body)
	}
	return out
}

// TestSearch: every query form, every script, and the access rules.
func TestSearch(t *testing.T) {
	ge := newGroup(t)
	e := ge.e
	alice, bob, eve := ge.owner, ge.member, ge.eve
	dm := alice.direct(bob)
	gen := ge.general()
	alice.say(dm.ID, "deploy the server tonight")
	bob.say(dm.ID, "部署服务器的时间到了")
	alice.say(dm.ID, "check example.com, please")
	bob.say(dm.ID, "Привет, как дела с развёртыванием?")
	edited := alice.say(dm.ID, "the old plan")
	alice.must(200, "PATCH", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", dm.ID, edited.Seq), map[string]any{"body": "the new roadmap"})
	gone := alice.say(dm.ID, "secret deployment keys")
	alice.must(204, "DELETE", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", dm.ID, gone.Seq), nil)
	bob.say(gen, "deployment done, 100% green")
	ge.admin.say(gen, "nothing to see")
	// removed from the group before: never a member of what was said
	ge.removed.must(404, "GET", fmt.Sprintf("/api/v1/conversations/%d", gen), nil)

	for _, c := range []struct {
		who  *user
		q    string
		want []string
	}{
		{alice, "deploy", []string{"deployment done, 100% green", "deploy the server tonight"}},
		{alice, "DEPLOY -tonight", []string{"deployment done, 100% green"}},
		{alice, `"the server"`, []string{"deploy the server tonight"}},
		{alice, `"server the"`, nil},
		{alice, "server tonight", []string{"deploy the server tonight"}},
		{alice, "服务器", []string{"部署服务器的时间到了"}},
		{alice, "部署", []string{"部署服务器的时间到了"}},
		{alice, "example.com", []string{"check example.com, please"}},
		{alice, "привет", []string{"Привет, как дела с развёртыванием?"}},
		{alice, "развёр", []string{"Привет, как дела с развёртыванием?"}},
		{alice, "100%", []string{"deployment done, 100% green"}},
		{alice, "plan", nil},                                          // the text before an edit is not found
		{alice, "roadmap", []string{"the new roadmap"}},               // its current text is
		{alice, "secret", nil},                                        // deleted
		{eve, "deploy", nil},                                          // a stranger
		{ge.removed, "deployment", nil},                               // a removed member
		{ge.admin, "deploy", []string{"deployment done, 100% green"}}, // the channel, not the direct chat
		{alice, `"unclosed quote`, nil},
		{alice, `deploy) & !( 'tonight:*`, []string{"deploy the server tonight"}}, // syntax is only text
	} {
		got := bodies(c.who.search("q", c.q))
		if c.want == nil {
			c.want = []string{}
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s searching %q: %q, want %q", c.who.Username, c.q, got, c.want)
		}
	}
	// the words kept for search are those of live messages only, as they read now
	var stale int
	e.srv.Accounts().DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM message_words w JOIN messages m ON m.id = w.message_id
		WHERE m.deleted OR w.words <> to_tsvector('simple', m.body)`).Scan(&stale)
	if stale != 0 {
		t.Errorf("%d stale rows in message_words", stale)
	}
	// filters
	if got := bodies(alice.search("q", "deploy", "conversation_id", fmt.Sprint(dm.ID))); !slices.Equal(got, []string{"deploy the server tonight"}) {
		t.Errorf("in the direct chat: %q", got)
	}
	if got := bodies(alice.search("q", "deploy", "group_id", fmt.Sprint(ge.g.ID))); !slices.Equal(got, []string{"deployment done, 100% green"}) {
		t.Errorf("in the group: %q", got)
	}
	if got := bodies(alice.search("q", "deploy", "from", fmt.Sprint(alice.ID))); !slices.Equal(got, []string{"deploy the server tonight"}) {
		t.Errorf("from alice: %q", got)
	}
	// pages, newest first, each hit with its conversation's title
	p := alice.search("q", "deploy", "limit", "1")
	if len(p.Results) != 1 || !p.HasMore || p.Results[0].ConversationID != gen || p.Results[0].Title == "" {
		t.Fatalf("first page %+v", p)
	}
	p2 := alice.search("q", "deploy", "limit", "1", "before", fmt.Sprint(p.Results[0].Message.ID))
	if len(p2.Results) != 1 || p2.HasMore || p2.Results[0].Message.Body != "deploy the server tonight" || p2.Results[0].Title != alice.conversation(dm.ID).Title {
		t.Fatalf("second page %+v", p2)
	}
	// a cleared chat is searched above its cleared_seq only
	bob.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/clear", dm.ID), nil)
	bob.say(dm.ID, "deploy again tomorrow")
	if got := bodies(bob.search("q", "deploy", "conversation_id", fmt.Sprint(dm.ID))); !slices.Equal(got, []string{"deploy again tomorrow"}) {
		t.Errorf("after clearing: %q", got)
	}
	// bad input is a 400 with the field
	for _, c := range []struct{ q, field string }{
		{"", "q"}, {strings.Repeat("x", 201), "q"}, {"-only", "q"}, {`"" -x`, "q"}, {`&|!():* '`, "q"},
	} {
		if _, field := alice.must(400, "GET", "/api/v1/search?q="+url.QueryEscape(c.q), nil).errCode(t); field != c.field {
			t.Errorf("q=%q: field %q", c.q, field)
		}
	}
	for _, bad := range []string{"limit=0", "limit=51", "limit=x", "before=0", "from=-1", "conversation_id=abc"} {
		alice.must(400, "GET", "/api/v1/search?q=deploy&"+bad, nil)
	}
	(&user{client: e.client()}).must(401, "GET", "/api/v1/search?q=deploy", nil)
}
