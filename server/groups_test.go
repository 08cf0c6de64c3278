package server_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

type groupOut struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	MyRole      string         `json:"my_role"`
	MemberCount int64          `json:"member_count"`
	Channels    []conversation `json:"channels"`
}

type groupEnv struct {
	e                                  *env
	owner, admin, member, removed, eve *user
	g                                  groupOut
}

// newGroup makes a group with an owner, an admin, a member, a removed member
// and a stranger.
func newGroup(t *testing.T) *groupEnv {
	e := newEnv(t)
	ge := &groupEnv{e: e, owner: e.user("owner"), admin: e.user("admin"), member: e.user("member"), removed: e.user("removed"), eve: e.user("eve")}
	var out struct{ Group groupOut }
	ge.owner.must(201, "POST", "/api/v1/groups", map[string]any{"name": "Team", "description": "Our team"}).decode(t, &out)
	ge.g = out.Group
	for _, u := range []*user{ge.admin, ge.member, ge.removed} {
		role := "member"
		if u == ge.admin {
			role = "admin"
		}
		ge.owner.must(201, "POST", ge.path("/members"), map[string]any{"user_id": u.ID, "role": role})
	}
	ge.admin.must(204, "DELETE", ge.path(fmt.Sprintf("/members/%d", ge.removed.ID)), nil)
	return ge
}

func (ge *groupEnv) path(rest string) string {
	return fmt.Sprintf("/api/v1/groups/%d%s", ge.g.ID, rest)
}

func (ge *groupEnv) general() int64 { return ge.g.Channels[0].ID }

func TestGroupBasics(t *testing.T) {
	ge := newGroup(t)
	g := ge.g
	if g.MyRole != "owner" || g.Name != "Team" || g.Description != "Our team" || len(g.Channels) != 1 ||
		g.Channels[0].Title != "general" || g.Channels[0].Kind != "channel" {
		t.Fatalf("new group %+v", g)
	}
	var list struct{ Groups []groupOut }
	ge.member.must(200, "GET", "/api/v1/groups", nil).decode(t, &list)
	if len(list.Groups) != 1 || list.Groups[0].MyRole != "member" || list.Groups[0].MemberCount != 3 {
		t.Fatalf("member's list %+v", list)
	}
	// a channel works like any conversation, through the same endpoints
	gen := ge.general()
	ge.member.say(gen, "hello team")
	ge.admin.say(gen, "hi")
	c := ge.owner.conversation(gen)
	if c.LastSeq != 2 || c.UnreadCount != 2 || c.MemberCount != 3 {
		t.Fatalf("channel for the owner %+v", c)
	}
	ge.owner.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/receipts", gen), map[string]any{"read_seq": 2})
	var rec struct {
		Receipts []struct {
			UserID  int64 `json:"user_id"`
			ReadSeq int64 `json:"read_seq"`
		}
	}
	ge.member.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/receipts", gen), nil).decode(t, &rec)
	if len(rec.Receipts) != 3 {
		t.Fatalf("receipts %+v", rec)
	}

	// channels: create, unique names, rename, delete
	var ch struct{ Conversation conversation }
	ge.admin.must(201, "POST", ge.path("/channels"), map[string]any{"name": "Release Planning"}).decode(t, &ch)
	if ch.Conversation.Title != "release-planning" {
		t.Fatalf("channel name %q", ch.Conversation.Title)
	}
	ge.admin.must(409, "POST", ge.path("/channels"), map[string]any{"name": "release-planning"})
	ge.admin.must(400, "POST", ge.path("/channels"), map[string]any{"name": "bad!name"})
	ge.admin.must(400, "POST", ge.path("/channels"), map[string]any{"name": ""})
	ge.member.conversation(ch.Conversation.ID) // every member is in every channel
	ge.admin.must(200, "PATCH", ge.path(fmt.Sprintf("/channels/%d", ch.Conversation.ID)), map[string]any{"name": "releases"})
	if ge.member.conversation(ch.Conversation.ID).Title != "releases" {
		t.Fatal("rename not visible")
	}
	ge.admin.must(409, "PATCH", ge.path(fmt.Sprintf("/channels/%d", ch.Conversation.ID)), map[string]any{"name": "general"})
	ge.admin.must(204, "DELETE", ge.path(fmt.Sprintf("/channels/%d", ch.Conversation.ID)), nil)
	ge.member.must(404, "GET", fmt.Sprintf("/api/v1/conversations/%d", ch.Conversation.ID), nil)
	ge.admin.must(409, "DELETE", ge.path(fmt.Sprintf("/channels/%d", gen)), nil) // the last channel stays

	// rename and describe
	var upd struct{ Group groupOut }
	ge.admin.must(200, "PATCH", ge.path(""), map[string]any{"name": "Team 2", "description": ""}).decode(t, &upd)
	if upd.Group.Name != "Team 2" || upd.Group.Description != "" {
		t.Fatalf("patched %+v", upd.Group)
	}
	ge.admin.must(400, "PATCH", ge.path(""), map[string]any{"name": " "})
}

// TestGroupPermissionMatrix runs every group endpoint as owner, admin,
// member, removed member and stranger.
func TestGroupPermissionMatrix(t *testing.T) {
	type call struct {
		name         string
		method, path string
		body         any
		// expected status for owner, admin, member, removed, stranger
		want [5]int
	}
	for _, tc := range []call{
		{"get", "GET", "", nil, [5]int{200, 200, 200, 404, 404}},
		{"members", "GET", "/members", nil, [5]int{200, 200, 200, 404, 404}},
		{"patch", "PATCH", "", map[string]any{"description": "x"}, [5]int{200, 200, 403, 404, 404}},
		{"create channel", "POST", "/channels", map[string]any{"name": "c-%s"}, [5]int{201, 201, 403, 404, 404}},
		{"invites", "GET", "/invites", nil, [5]int{200, 200, 403, 404, 404}},
		{"create invite", "POST", "/invites", map[string]any{}, [5]int{201, 201, 403, 404, 404}},
		{"add member", "POST", "/members", map[string]any{"user_id": "NEW"}, [5]int{201, 201, 403, 404, 404}},
		{"make admin", "PATCH", "/members/MEMBER", map[string]any{"role": "admin"}, [5]int{200, 403, 403, 404, 404}},
		{"transfer", "POST", "/transfer", map[string]any{"user_id": "ADMIN"}, [5]int{200, 403, 403, 404, 404}},
		{"rename channel", "PATCH", "/channels/GENERAL", map[string]any{"name": "lobby"}, [5]int{200, 200, 403, 404, 404}},
		{"delete channel", "DELETE", "/channels/SECOND", nil, [5]int{204, 204, 403, 404, 404}},
		{"revoke invite", "DELETE", "/invites/INVITE", nil, [5]int{204, 204, 403, 404, 404}},
		{"remove member", "DELETE", "/members/MEMBER", nil, [5]int{204, 204, 204, 404, 404}}, // the member leaves
		{"remove admin", "DELETE", "/members/ADMIN", nil, [5]int{204, 204, 403, 404, 404}},   // the admin leaves
		{"delete", "DELETE", "", nil, [5]int{204, 403, 403, 404, 404}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, role := range []string{"owner", "admin", "member", "removed", "stranger"} {
				ge := newGroup(t) // fresh each time: some calls change the group
				newcomer := ge.e.user("newcomer")
				u := map[string]*user{"owner": ge.owner, "admin": ge.admin, "member": ge.member, "removed": ge.removed, "stranger": ge.eve}[role]
				body := tc.body
				if m, ok := body.(map[string]any); ok {
					b := map[string]any{}
					for k, v := range m {
						switch v {
						case "NEW":
							v = newcomer.ID
						case "ADMIN":
							v = ge.admin.ID
						case "c-%s":
							v = "c-" + role
						}
						b[k] = v
					}
					body = b
				}
				var second struct{ Conversation conversation }
				ge.owner.must(201, "POST", ge.path("/channels"), map[string]any{"name": "second"}).decode(t, &second)
				var inv struct{ Code string }
				ge.owner.must(201, "POST", ge.path("/invites"), map[string]any{}).decode(t, &inv)
				path := strings.NewReplacer(
					"MEMBER", fmt.Sprint(ge.member.ID), "ADMIN", fmt.Sprint(ge.admin.ID),
					"GENERAL", fmt.Sprint(ge.general()), "SECOND", fmt.Sprint(second.Conversation.ID), "INVITE", inv.Code,
				).Replace(tc.path)
				r := u.do(tc.method, ge.path(path), body)
				if r.Status != tc.want[i] {
					t.Errorf("%s as %s: %d, want %d: %s", tc.name, role, r.Status, tc.want[i], r.Body)
				}
			}
		})
	}
}

func TestGroupRoleRules(t *testing.T) {
	ge := newGroup(t)
	o, a, m := ge.owner, ge.admin, ge.member
	mp := func(u *user) string { return ge.path(fmt.Sprintf("/members/%d", u.ID)) }
	// admins add and remove members, but not admins; nobody removes the owner
	o.must(409, "DELETE", mp(o), nil) // the owner leaves only after a transfer
	a.must(409, "DELETE", mp(o), nil)
	carol := ge.e.user("carol")
	a.must(201, "POST", ge.path("/members"), map[string]any{"user_id": carol.ID})
	a.must(409, "POST", ge.path("/members"), map[string]any{"user_id": carol.ID})
	a.must(404, "POST", ge.path("/members"), map[string]any{"user_id": 999999})
	a.must(403, "POST", ge.path("/members"), map[string]any{"user_id": ge.eve.ID, "role": "admin"})
	a.must(400, "POST", ge.path("/members"), map[string]any{"user_id": ge.eve.ID, "role": "owner"})
	a.must(204, "DELETE", mp(carol), nil)
	// only the owner makes or unmakes admins
	a.must(403, "PATCH", mp(m), map[string]any{"role": "admin"})
	o.must(200, "PATCH", mp(m), map[string]any{"role": "admin"})
	m.must(403, "DELETE", mp(a), nil) // an admin cannot remove another admin
	o.must(200, "PATCH", mp(m), map[string]any{"role": "member"})
	o.must(409, "PATCH", mp(o), map[string]any{"role": "member"})
	o.must(400, "PATCH", mp(m), map[string]any{"role": "owner"})
	// members leave
	m.must(204, "DELETE", mp(m), nil)
	m.must(404, "GET", ge.path(""), nil)
	// transfer, then the old owner may leave
	o.must(400, "POST", ge.path("/transfer"), map[string]any{"user_id": ge.eve.ID})
	var g struct{ Group groupOut }
	o.must(200, "POST", ge.path("/transfer"), map[string]any{"user_id": a.ID}).decode(t, &g)
	if g.Group.MyRole != "admin" {
		t.Fatalf("old owner's role %s", g.Group.MyRole)
	}
	a.must(200, "GET", ge.path(""), nil).decode(t, &g)
	if g.Group.MyRole != "owner" {
		t.Fatalf("new owner's role %s", g.Group.MyRole)
	}
	o.must(204, "DELETE", mp(o), nil)
	// the new owner deletes the group: gone for everyone
	a.must(204, "DELETE", ge.path(""), nil)
	a.must(404, "GET", ge.path(""), nil)
	a.must(404, "GET", fmt.Sprintf("/api/v1/conversations/%d", ge.general()), nil)
}

func TestRemovalStopsEventsImmediately(t *testing.T) {
	ge := newGroup(t)
	gen := ge.general()
	var before struct{ Cursor string }
	ge.member.must(200, "GET", "/api/v1/sync", nil).decode(t, &before)
	mw := ge.e.dial(ge.member.Token)
	ow := ge.e.dial(ge.owner.Token)
	ge.admin.say(gen, "before")
	mw.expect("message.created", "presence")
	ow.expect("message.created", "presence")

	ge.admin.must(204, "DELETE", ge.path(fmt.Sprintf("/members/%d", ge.member.ID)), nil)
	var rm struct {
		ConversationID int64 `json:"conversation_id"`
		GroupID        int64 `json:"group_id"`
	}
	mw.expect("conversation.removed", "presence", "group.changed").decode(t, &rm)
	if rm.ConversationID != gen {
		t.Fatalf("removed %+v", rm)
	}
	mw.expect("group.removed", "presence").decode(t, &rm)
	if rm.GroupID != ge.g.ID {
		t.Fatalf("group.removed %+v", rm)
	}
	// from that moment: no events, and 404 everywhere
	ge.admin.say(gen, "after")
	ge.admin.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/receipts", gen), map[string]any{"read_seq": 2})
	ow.expect("message.created", "presence", "group.changed")
	mw.quiet(500*time.Millisecond, "presence")
	for _, p := range []string{"", "/members", "/invites"} {
		ge.member.must(404, "GET", ge.path(p), nil)
	}
	ge.member.must(404, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", gen), nil)
	ge.member.must(404, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", gen), map[string]any{"client_id": "x", "body": "hi"})
	mw.send("typing", map[string]any{"conversation_id": gen})
	mw.expect("error", "presence")

	// and sync tells a device that was away
	type syncOut struct {
		Removed       []int64 `json:"removed"`
		RemovedGroups []int64 `json:"removed_groups"`
	}
	var s syncOut
	ge.member.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(before.Cursor), nil).decode(t, &s)
	if len(s.Removed) != 1 || s.Removed[0] != gen || len(s.RemovedGroups) != 1 {
		t.Fatalf("sync after removal %+v", s)
	}
}

func TestInvites(t *testing.T) {
	ge := newGroup(t)
	e := ge.e
	type created struct {
		Code      string  `json:"code"`
		ExpiresAt *string `json:"expires_at"`
	}
	var inv created
	ge.admin.must(201, "POST", ge.path("/invites"), map[string]any{"max_uses": 2}).decode(t, &inv)
	if len(inv.Code) < 22 { // 128 bits in base64url is 22 characters
		t.Fatalf("code %q is too short", inv.Code)
	}
	ip := "/api/v1/invites/" + url.PathEscape(inv.Code)
	var preview struct {
		Group struct {
			ID          int64  `json:"id"`
			Name        string `json:"name"`
			MemberCount int64  `json:"member_count"`
		}
	}
	u1, u2, u3 := e.user("join1"), e.user("join2"), e.user("join3")
	u1.must(200, "GET", ip, nil).decode(t, &preview)
	if preview.Group.Name != "Team" || preview.Group.MemberCount != 3 {
		t.Fatalf("preview %+v", preview)
	}
	e.client().must(401, "GET", ip, nil) // needs a logged-in user
	e.client().must(401, "POST", ip+"/accept", nil)

	var g struct{ Group groupOut }
	u1.must(200, "POST", ip+"/accept", nil).decode(t, &g)
	if g.Group.MyRole != "member" || len(g.Group.Channels) != 1 {
		t.Fatalf("joined %+v", g.Group)
	}
	u1.must(200, "POST", ip+"/accept", nil) // already a member: no use spent
	u2.must(200, "POST", ip+"/accept", nil)
	code, _ := u3.must(410, "POST", ip+"/accept", nil).errCode(t)
	if code != "invite_gone" {
		t.Fatal(code)
	}
	u3.must(410, "GET", ip, nil)
	u1.must(200, "POST", ip+"/accept", nil) // members still get their group
	u1.must(404, "GET", "/api/v1/invites/nope", nil)

	// revoked
	ge.admin.must(201, "POST", ge.path("/invites"), map[string]any{}).decode(t, &inv)
	ge.admin.must(204, "DELETE", ge.path("/invites/"+inv.Code), nil)
	u3.must(410, "POST", "/api/v1/invites/"+inv.Code+"/accept", nil)
	ge.admin.must(404, "DELETE", ge.path("/invites/unknown"), nil)

	// expired
	ge.admin.must(201, "POST", ge.path("/invites"), map[string]any{"expires_in_s": 60}).decode(t, &inv)
	if inv.ExpiresAt == nil {
		t.Fatal("no expires_at")
	}
	if _, err := e.srv.Accounts().DB.Pool.Exec(context.Background(), "UPDATE invites SET expires_at = now() - interval '1 second' WHERE code = $1", inv.Code); err != nil {
		t.Fatal(err)
	}
	u3.must(410, "POST", "/api/v1/invites/"+inv.Code+"/accept", nil)

	for _, bad := range []map[string]any{{"max_uses": 0}, {"expires_in_s": 5}, {"max_uses": "x"}} {
		ge.admin.must(400, "POST", ge.path("/invites"), bad)
	}
	var list struct {
		Invites []struct {
			Code    string `json:"code"`
			Uses    int    `json:"uses"`
			Revoked bool   `json:"revoked"`
		}
	}
	ge.admin.must(200, "GET", ge.path("/invites"), nil).decode(t, &list)
	if len(list.Invites) != 3 {
		t.Fatalf("invites %+v", list)
	}
}

func TestConcurrentJoinsThroughOneInvite(t *testing.T) {
	ge := newGroup(t)
	var inv struct{ Code string }
	ge.owner.must(201, "POST", ge.path("/invites"), map[string]any{"max_uses": 5}).decode(t, &inv)
	var users []*user
	for i := range 12 {
		users = append(users, ge.e.user(fmt.Sprintf("joiner%d", i)))
	}
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			r := u.do("POST", "/api/v1/invites/"+inv.Code+"/accept", nil)
			mu.Lock()
			statuses[r.Status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[200] != 5 || statuses[410] != 7 {
		t.Fatalf("statuses %v: want 5 joins and 7 invite_gone", statuses)
	}
	var g struct{ Group groupOut }
	ge.owner.must(200, "GET", ge.path(""), nil).decode(t, &g)
	if g.Group.MemberCount != 3+5 {
		t.Fatalf("member_count %d", g.Group.MemberCount)
	}
}

func TestGroupEvents(t *testing.T) {
	ge := newGroup(t)
	mw := ge.e.dial(ge.member.Token)
	// a new channel reaches every member, and its messages too
	var ch struct{ Conversation conversation }
	ge.admin.must(201, "POST", ge.path("/channels"), map[string]any{"name": "random"}).decode(t, &ch)
	// one shared event routes it to everyone, then the group's shared fields
	var cu struct{ Conversation conversation }
	mw.expect("conversation.updated", "presence").decode(t, &cu)
	if cu.Conversation.ID != ch.Conversation.ID || cu.Conversation.UnreadCount != 0 {
		t.Fatalf("new channel %+v", cu.Conversation)
	}
	var gc struct {
		Group struct {
			MemberCount int64 `json:"member_count"`
			Channels    []struct {
				ID   int64
				Name string
			}
		}
	}
	mw.expect("group.changed", "presence").decode(t, &gc)
	if len(gc.Group.Channels) != 2 || gc.Group.MemberCount != 3 {
		t.Fatalf("group.changed %+v", gc.Group)
	}
	ge.admin.say(ch.Conversation.ID, "in random")
	mw.expect("message.created", "presence")
	// receipts are pushed in small channels
	ge.owner.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/receipts", ch.Conversation.ID), map[string]any{"read_seq": 1})
	mw.expect("receipt", "presence")
	// a rename reaches members in the group's shared fields
	ge.admin.must(200, "PATCH", ge.path(fmt.Sprintf("/channels/%d", ch.Conversation.ID)), map[string]any{"name": "off-topic"})
	mw.expect("group.changed", "presence").decode(t, &gc)
	if gc.Group.Channels[1].Name != "off-topic" {
		t.Fatalf("renamed %+v", gc.Group)
	}
	// deleting the group removes everything for every member
	ge.owner.must(204, "DELETE", ge.path(""), nil)
	mw.expect("conversation.removed", "presence")
	mw.expect("conversation.removed", "presence")
	mw.expect("group.removed", "presence")
	var list struct{ Groups []groupOut }
	ge.member.must(200, "GET", "/api/v1/groups", nil).decode(t, &list)
	if len(list.Groups) != 0 {
		t.Fatalf("groups after delete %+v", list)
	}
}

func TestSyncReportsGroups(t *testing.T) {
	ge := newGroup(t)
	var full struct {
		Cursor string
		Groups []groupOut
	}
	ge.member.must(200, "GET", "/api/v1/sync", nil).decode(t, &full)
	if len(full.Groups) != 1 || len(full.Groups[0].Channels) != 1 {
		t.Fatalf("full sync groups %+v", full.Groups)
	}
	var later struct {
		Groups        []groupOut
		Conversations []conversation
	}
	ge.member.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(full.Cursor), nil).decode(t, &later)
	if len(later.Groups) != 0 {
		t.Fatalf("unchanged group reported: %+v", later.Groups)
	}
	ge.admin.must(201, "POST", ge.path("/channels"), map[string]any{"name": "news"})
	ge.member.must(200, "GET", "/api/v1/sync?since="+url.QueryEscape(full.Cursor), nil).decode(t, &later)
	if len(later.Groups) != 1 || len(later.Groups[0].Channels) != 2 || len(later.Conversations) != 1 {
		t.Fatalf("after a new channel: groups %+v conversations %d", later.Groups, len(later.Conversations))
	}
}

// TestReceiptsNotPushedInLargeChannels: above 100 members, receipts are
// fetched, not pushed.
func TestReceiptsNotPushedInLargeChannels(t *testing.T) {
	ge := newGroup(t)
	for i := range 98 { // 3 members + 98 = 101
		u := ge.e.user(fmt.Sprintf("crowd%03d", i))
		ge.owner.must(201, "POST", ge.path("/members"), map[string]any{"user_id": u.ID})
	}
	gen := ge.general()
	mw := ge.e.dial(ge.member.Token)
	ge.admin.say(gen, "to the crowd")
	mw.expect("message.created", "presence")
	ge.owner.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/receipts", gen), map[string]any{"read_seq": 1})
	mw.quiet(400*time.Millisecond, "presence")
	var rec struct {
		Receipts []struct{ UserID, ReadSeq int64 }
	}
	ge.member.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/receipts", gen), nil).decode(t, &rec)
	if len(rec.Receipts) != 101 {
		t.Fatalf("%d receipts, want 101", len(rec.Receipts))
	}
}

// Whoever joins a group later finds its channels' history readable but not
// unread, and what is sent after they joined counts as usual; the members
// who were there all along keep their counts.
func TestJoiningLaterMakesHistoryNotUnread(t *testing.T) {
	ge := newGroup(t)
	e := ge.e
	gen := ge.general()
	ge.member.say(gen, "before anyone new")
	ge.admin.say(gen, "@all an announcement")
	ge.member.say(gen, "still before")

	added, invited := e.user("added"), e.user("invited")
	ge.admin.must(201, "POST", ge.path("/members"), map[string]any{"user_id": added.ID})
	var inv struct{ Code string }
	ge.admin.must(201, "POST", ge.path("/invites"), map[string]any{}).decode(t, &inv)
	invited.must(200, "POST", "/api/v1/invites/"+url.PathEscape(inv.Code)+"/accept", nil)

	for _, u := range []*user{added, invited} {
		c := u.conversation(gen)
		if c.JoinedSeq != 3 || c.ReadSeq != 0 || c.UnreadCount != 0 || c.MentionCount != 0 {
			t.Fatalf("%s just joined: %+v; want joined_seq 3, read_seq 0, nothing unread", u.Username, c)
		}
		var page struct{ Messages []message }
		u.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", gen), nil).decode(t, &page)
		if len(page.Messages) != 3 {
			t.Fatalf("%s reads %d messages of the history; want 3", u.Username, len(page.Messages))
		}
	}
	if c := ge.owner.conversation(gen); c.JoinedSeq != 0 || c.UnreadCount != 3 || c.MentionCount != 1 {
		t.Fatalf("the owner's view: %+v; want 3 unread, 1 mention", c)
	}

	ge.member.say(gen, "@all welcome")
	for _, u := range []*user{added, invited} {
		if c := u.conversation(gen); c.UnreadCount != 1 || c.MentionCount != 1 {
			t.Fatalf("%s after a message: %+v; want 1 unread, 1 mention", u.Username, c)
		}
	}
	// a new channel's members all start at its beginning
	var second struct{ Conversation conversation }
	ge.owner.must(201, "POST", ge.path("/channels"), map[string]any{"name": "second"}).decode(t, &second)
	ge.member.say(second.Conversation.ID, "first words")
	if c := added.conversation(second.Conversation.ID); c.JoinedSeq != 0 || c.UnreadCount != 1 {
		t.Fatalf("a channel made after joining: %+v; want joined_seq 0, 1 unread", c)
	}
}

// receipt_counts answers "read by k of n" per message, counting the other
// members, with one row per seq asked for.
func TestReceiptCounts(t *testing.T) {
	ge := newGroup(t)
	e := ge.e
	gen := ge.general()
	extra := e.user("extra")
	ge.owner.must(201, "POST", ge.path("/members"), map[string]any{"user_id": extra.ID})
	for i := 1; i <= 5; i++ {
		ge.owner.say(gen, fmt.Sprintf("message %d", i))
	}
	rp := fmt.Sprintf("/api/v1/conversations/%d/receipts", gen)
	ge.admin.must(204, "POST", rp, map[string]any{"read_seq": 3})
	ge.member.must(204, "POST", rp, map[string]any{"delivered_seq": 5, "read_seq": 1})
	extra.must(204, "POST", rp, map[string]any{"delivered_seq": 2})

	type count struct{ Seq, Delivered, Read int64 }
	counts := func(u *user, query string) []count {
		t.Helper()
		var out struct{ Counts []count }
		u.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/receipt_counts?%s", gen, query), nil).decode(t, &out)
		return out.Counts
	}
	// the owner sent all five; the other three: admin read 3, member
	// delivered 5 and read 1, extra delivered 2
	want := []count{{1, 3, 2}, {2, 3, 1}, {3, 2, 1}, {4, 1, 0}, {5, 1, 0}}
	if got := counts(ge.owner, "from=1"); !slices.Equal(got, want) {
		t.Fatalf("counts from 1 = %v; want %v", got, want)
	}
	if got := counts(ge.owner, "from=4"); !slices.Equal(got, want[3:]) {
		t.Fatalf("counts from 4 = %v; want %v", got, want[3:])
	}
	if got := counts(ge.owner, "from=2&to=3"); !slices.Equal(got, want[1:3]) {
		t.Fatalf("counts from 2 to 3 = %v; want %v", got, want[1:3])
	}
	if got := counts(ge.owner, "from=5&to=900"); !slices.Equal(got, want[4:]) {
		t.Fatalf("counts from 5 to 900 = %v; want %v (to stops at last_seq)", got, want[4:])
	}
	if got := counts(ge.owner, "from=6"); len(got) != 0 {
		t.Fatalf("counts after the last message = %v; want none", got)
	}
	// the member's view leaves the member out and counts the owner, whose
	// own sends moved their watermarks to 5
	if got := counts(ge.member, "from=5"); !slices.Equal(got, []count{{5, 1, 1}}) {
		t.Fatalf("the member's counts at 5 = %v; want the owner alone", got)
	}

	for _, bad := range []struct{ query, field string }{
		{"", "from"}, {"from=0", "from"}, {"from=-3", "from"}, {"from=abc", "from"}, {"from=3&to=2", "to"},
	} {
		r := ge.owner.do("GET", fmt.Sprintf("/api/v1/conversations/%d/receipt_counts?%s", gen, bad.query), nil)
		if code, field := r.errCode(t); r.Status != 400 || code != "validation_failed" || field != bad.field {
			t.Errorf("?%s: %d %s %s; want 400 validation_failed on %s", bad.query, r.Status, code, field, bad.field)
		}
	}
	for _, u := range []*user{ge.eve, ge.removed} {
		if r := u.do("GET", fmt.Sprintf("/api/v1/conversations/%d/receipt_counts?from=1", gen), nil); r.Status != 404 {
			t.Errorf("%s, not a member: %d %s; want 404", u.Username, r.Status, r.Body)
		}
	}
	if r := ge.owner.do("GET", "/api/v1/conversations/999999/receipt_counts?from=1", nil); r.Status != 404 {
		t.Errorf("an unknown conversation: %d; want 404", r.Status)
	}
}
