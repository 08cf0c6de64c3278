package server_test

import (
	"fmt"
	"strings"
	"testing"
)

type adminUser struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	Role        string `json:"role"`
	Bot         bool   `json:"bot"`
	Deactivated bool   `json:"deactivated"`
}

// TestAdminEndpointsRefuseMembers: every admin endpoint answers 403 to a
// member, and 401 to no one.
func TestAdminEndpointsRefuseMembers(t *testing.T) {
	e := newEnv(t)
	admin, member := e.user("root"), e.user("member")
	var me struct{ User adminUser }
	admin.must(200, "GET", "/api/v1/me", nil).decode(t, &me)
	if me.User.Role != "admin" {
		t.Fatalf("the first account is %q", me.User.Role)
	}
	member.must(200, "GET", "/api/v1/me", nil).decode(t, &me)
	if me.User.Role != "member" {
		t.Fatalf("the second account is %q", me.User.Role)
	}
	for _, r := range []struct{ method, path string }{
		{"GET", "/api/v1/admin/users"},
		{"PATCH", fmt.Sprintf("/api/v1/admin/users/%d", admin.ID)},
		{"PATCH", fmt.Sprintf("/api/v1/admin/users/%d", member.ID)},
		{"GET", "/api/v1/admin/reports"},
		{"PATCH", "/api/v1/admin/reports/1"},
		{"GET", "/api/v1/admin/audit"},
		{"GET", "/api/v1/admin/server"},
	} {
		var body any
		if r.method == "PATCH" {
			body = map[string]any{"role": "admin", "resolved": true}
		}
		if code, _ := member.must(403, r.method, r.path, body).errCode(t); code != "forbidden" {
			t.Fatalf("%s %s: %s", r.method, r.path, code)
		}
		e.client().must(401, r.method, r.path, body)
	}
	var facts struct {
		Version string
		NodeID  string `json:"node_id"`
		Facts   struct {
			Users         int64
			DatabaseBytes int64 `json:"database_bytes"`
		}
	}
	admin.must(200, "GET", "/api/v1/admin/server", nil).decode(t, &facts)
	if facts.Facts.Users != 2 || facts.Facts.DatabaseBytes <= 0 || facts.NodeID == "" {
		t.Fatalf("facts %+v", facts)
	}
}

// TestAdminUsers: search and paging, roles with the last admin kept, and
// deactivation that ends the user's sessions, sockets and bots at once and
// hides them from search, keeping their messages; reactivation lets them
// back in.
func TestAdminUsers(t *testing.T) {
	e := newEnv(t)
	root, bob, spammer := e.user("root"), e.user("bob"), e.user("spammer")
	var page struct {
		Users   []adminUser
		HasMore bool `json:"has_more"`
	}
	root.must(200, "GET", "/api/v1/admin/users?limit=2", nil).decode(t, &page)
	if len(page.Users) != 2 || !page.HasMore || page.Users[0].Username != "root" {
		t.Fatalf("first page %+v", page)
	}
	root.must(200, "GET", fmt.Sprintf("/api/v1/admin/users?limit=2&after=%d", page.Users[1].ID), nil).decode(t, &page)
	if len(page.Users) != 1 || page.HasMore || page.Users[0].Username != "spammer" {
		t.Fatalf("second page %+v", page)
	}
	root.must(200, "GET", "/api/v1/admin/users?q=SPA", nil).decode(t, &page)
	if len(page.Users) != 1 || page.Users[0].ID != spammer.ID {
		t.Fatalf("search %+v", page)
	}
	root.must(200, "GET", "/api/v1/admin/users?q=%25", nil).decode(t, &page) // a LIKE wildcard matches itself only
	if len(page.Users) != 0 {
		t.Fatalf("search for %% %+v", page)
	}
	root.must(400, "GET", "/api/v1/admin/users?limit=500", nil)
	e.user("jo_hn")
	root.must(200, "GET", "/api/v1/admin/users?q=jo_", nil).decode(t, &page) // an underscore is a character
	if len(page.Users) != 1 || page.Users[0].Username != "jo_hn" {
		t.Fatalf("search for jo_ %+v", page)
	}

	// roles, and the last admin
	userPath := func(u *user) string { return fmt.Sprintf("/api/v1/admin/users/%d", u.ID) }
	root.must(400, "PATCH", userPath(bob), map[string]any{"role": "god"})
	root.must(404, "PATCH", "/api/v1/admin/users/999999", map[string]any{"role": "admin"})
	if code, _ := root.must(409, "PATCH", userPath(root), map[string]any{"role": "member"}).errCode(t); code != "conflict" {
		t.Fatal(code)
	}
	root.must(409, "PATCH", userPath(root), map[string]any{"deactivated": true})
	var out struct{ User adminUser }
	root.must(200, "PATCH", userPath(bob), map[string]any{"role": "admin"}).decode(t, &out)
	if out.User.Role != "admin" {
		t.Fatalf("bob %+v", out.User)
	}
	bob.must(200, "GET", "/api/v1/admin/users", nil) // at once
	root.must(200, "PATCH", userPath(root), map[string]any{"role": "member"})
	root.must(403, "GET", "/api/v1/admin/users", nil)
	bob.must(409, "PATCH", userPath(bob), map[string]any{"role": "member"})
	bob.must(200, "PATCH", userPath(root), map[string]any{"role": "admin"})

	// the spammer, with a bot and an open socket, writes to bob
	var made struct {
		Bot    userOut
		Secret string
	}
	spammer.must(201, "POST", "/api/v1/bots", map[string]any{"username": "spambot"}).decode(t, &made)
	conv := spammer.direct(bob)
	spam := spammer.say(conv.ID, "buy now")
	sw := e.dial(spammer.Token)
	botWS := e.dial(made.Secret)
	root.must(200, "PATCH", userPath(spammer), map[string]any{"deactivated": true}).decode(t, &out)
	if !out.User.Deactivated {
		t.Fatalf("spammer %+v", out.User)
	}
	if code := sw.waitClosed(); code != 4001 {
		t.Fatalf("the spammer's socket closed with %d", code)
	}
	if code := botWS.waitClosed(); code != 4001 {
		t.Fatalf("the spammer's bot's socket closed with %d", code)
	}
	spammer.must(401, "GET", "/api/v1/me", nil)
	e.client().must(401, "GET", "/api/v1/me", nil)
	botClient := e.client()
	botClient.token = made.Secret
	botClient.must(401, "GET", "/api/v1/me", nil)
	r := e.client().must(403, "POST", "/api/v1/auth/login", map[string]any{"username": "spammer", "password": "correct horse"})
	if code, _ := r.errCode(t); code != "deactivated" {
		t.Fatalf("login of the deactivated: %s", code)
	}
	var found struct{ Users []userOut }
	bob.must(200, "GET", "/api/v1/users?q=spam", nil).decode(t, &found)
	if len(found.Users) != 0 {
		t.Fatalf("search finds %+v", found)
	}
	var hist struct{ Messages []message }
	bob.must(200, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID), nil).decode(t, &hist)
	if len(hist.Messages) != 1 || hist.Messages[0].Body != spam.Body {
		t.Fatalf("the spammer's messages %+v", hist.Messages)
	}
	// back again
	root.must(200, "PATCH", userPath(spammer), map[string]any{"deactivated": false})
	e.client().must(200, "POST", "/api/v1/auth/login", map[string]any{"username": "spammer", "password": "correct horse"})
	root.must(400, "PATCH", fmt.Sprintf("/api/v1/admin/users/%d", made.Bot.ID), map[string]any{"deactivated": false})

	// the audit log has it all, newest first, with the address of sign-ins
	e.client().must(401, "POST", "/api/v1/auth/login", map[string]any{"username": "bob", "password": "wrong password"})
	var audit struct {
		Entries []struct {
			ID      int64
			ActorID *int64 `json:"actor_id"`
			Action  string
			Target  string
			Address string
		}
		HasMore bool `json:"has_more"`
	}
	root.must(200, "GET", "/api/v1/admin/audit", nil).decode(t, &audit)
	var actions []string
	for _, a := range audit.Entries {
		actions = append(actions, a.Action)
	}
	want := "auth.login_failed auth.login user.reactivate auth.login_failed user.deactivate bot.create user.role user.role user.role"
	if got := strings.Join(actions, " "); got != want {
		t.Fatalf("audit:\n got %s\nwant %s", got, want)
	}
	if a := audit.Entries[0]; a.Address != "127.0.0.1" || a.Target != "username:bob" || a.ActorID != nil {
		t.Fatalf("failed sign-in %+v", a)
	}
	if a := audit.Entries[4]; a.ActorID == nil || *a.ActorID != root.ID || a.Target != fmt.Sprintf("user:%d", spammer.ID) {
		t.Fatalf("deactivation %+v", a)
	}
	newest := audit.Entries[0].ID
	root.must(200, "GET", fmt.Sprintf("/api/v1/admin/audit?before=%d", audit.Entries[7].ID), nil).decode(t, &audit)
	if len(audit.Entries) != 1 {
		t.Fatalf("the page before %+v", audit.Entries)
	}
	root.must(200, "GET", fmt.Sprintf("/api/v1/admin/audit?after=%d", audit.Entries[0].ID), nil).decode(t, &audit)
	if len(audit.Entries) != 8 || audit.Entries[7].ID != newest || audit.Entries[0].Action != "user.role" {
		t.Fatalf("the entries after the first %+v", audit.Entries)
	}
}

// TestModeration: members report what they can read; a site admin sees
// open reports with the message, its sender and the reporter, deletes the
// message from there (in a conversation they are not in), and resolves it.
func TestModeration(t *testing.T) {
	e := newEnv(t)
	root, alice, bob, eve := e.user("root"), e.user("alice"), e.user("bob"), e.user("eve")
	conv := alice.direct(bob)
	for _, b := range []string{"one", "two", "three"} {
		alice.say(conv.ID, b)
	}
	bad := bob.say(conv.ID, "something nasty")
	alice.say(conv.ID, "stop it")
	report := fmt.Sprintf("/api/v1/conversations/%d/messages/%d/report", conv.ID, bad.Seq)
	alice.must(400, "POST", report, map[string]any{"reason": ""})
	alice.must(400, "POST", report, map[string]any{"reason": strings.Repeat("x", 1001)})
	bob.must(400, "POST", report, map[string]any{"reason": "my own"})
	eve.must(404, "POST", report, map[string]any{"reason": "I cannot see it"})
	alice.must(404, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages/99/report", conv.ID), map[string]any{"reason": "none"})
	alice.must(201, "POST", report, map[string]any{"reason": "abuse"})
	alice.must(201, "POST", report, map[string]any{"reason": "abuse, really"}) // once per reporter: the reason is replaced

	type reportOut struct {
		ID         int64
		Message    message
		Context    []message
		ReporterID int64 `json:"reporter_id"`
		SenderID   int64 `json:"sender_id"`
		Reason     string
		Resolved   bool
	}
	var reports struct {
		Reports []reportOut
		Users   []userOut
	}
	root.must(200, "GET", "/api/v1/admin/reports", nil).decode(t, &reports)
	if len(reports.Reports) != 1 {
		t.Fatalf("reports %+v", reports)
	}
	rp := reports.Reports[0]
	if rp.Message.Body != "something nasty" || rp.ReporterID != alice.ID || rp.SenderID != bob.ID || rp.Reason != "abuse, really" || rp.Resolved {
		t.Fatalf("report %+v", rp)
	}
	var around []string
	for _, m := range rp.Context {
		around = append(around, m.Body)
	}
	if got := strings.Join(around, ", "); got != "two, three, something nasty, stop it" {
		t.Fatalf("the report's context: %s", got)
	}
	if len(reports.Users) != 2 {
		t.Fatalf("the report's users %+v", reports.Users)
	}
	// a site admin deletes it without being in the conversation; alice
	// (not its sender, not an admin) could not
	alice.must(403, "DELETE", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", conv.ID, bad.Seq), nil)
	aw := e.dial(alice.Token)
	root.must(204, "DELETE", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", conv.ID, bad.Seq), nil)
	var upd struct {
		Message struct {
			Deleted bool
			Body    string
		}
	}
	aw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &upd)
	if !upd.Message.Deleted || upd.Message.Body != "" {
		t.Fatalf("the deleted message %+v", upd.Message)
	}
	root.must(200, "GET", "/api/v1/admin/reports", nil).decode(t, &reports)
	if len(reports.Reports) != 1 || reports.Reports[0].Message.Body != "" {
		t.Fatalf("the report of a deleted message shows %+v", reports.Reports)
	}
	root.must(400, "PATCH", fmt.Sprintf("/api/v1/admin/reports/%d", rp.ID), map[string]any{})
	root.must(404, "PATCH", "/api/v1/admin/reports/999999", map[string]any{"resolved": true})
	root.must(204, "PATCH", fmt.Sprintf("/api/v1/admin/reports/%d", rp.ID), map[string]any{"resolved": true})
	root.must(200, "GET", "/api/v1/admin/reports", nil).decode(t, &reports)
	if len(reports.Reports) != 0 {
		t.Fatalf("open reports after resolving %+v", reports.Reports)
	}
	root.must(200, "GET", "/api/v1/admin/reports?all=true", nil).decode(t, &reports)
	if len(reports.Reports) != 1 || !reports.Reports[0].Resolved {
		t.Fatalf("all reports %+v", reports.Reports)
	}
	// deleting a message already gone, or one of nobody's conversation
	root.must(204, "DELETE", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", conv.ID, bad.Seq), nil)
	root.must(404, "DELETE", "/api/v1/conversations/999999/messages/1", nil)
	var audit struct {
		Entries []struct{ Action, Target string }
	}
	root.must(200, "GET", "/api/v1/admin/audit", nil).decode(t, &audit)
	if audit.Entries[0].Action != "report.resolve" || audit.Entries[1].Action != "message.delete" ||
		audit.Entries[1].Target != fmt.Sprintf("conversation:%d seq:%d sender:%d", conv.ID, bad.Seq, bob.ID) {
		t.Fatalf("audit %+v", audit.Entries[:2])
	}
}
