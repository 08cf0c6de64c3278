package server_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/event"
)

// TestPresenceVisibility is the rule of Presence v1.1 as a table: who sees
// whose presence, by contact (one-sided or mutual), shared group, direct
// chat (one or both having written) and the subject's own setting.
func TestPresenceVisibility(t *testing.T) {
	e := newEnv(t)
	names := []string{"subject", "onesided", "mutual", "groupmate", "dmboth", "dmone", "stranger"}
	u := map[string]*user{}
	for _, n := range names {
		u[n] = e.user(n)
	}
	s := u["subject"]
	contact := func(a, b *user) { a.must(201, "POST", "/api/v1/contacts", map[string]any{"user_id": b.ID}) }
	contact(u["onesided"], s) // one direction only: no consent
	contact(u["mutual"], s)
	contact(s, u["mutual"])
	var g struct{ Group struct{ ID int64 } }
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "team"}).decode(t, &g)
	s.must(201, "POST", fmt.Sprintf("/api/v1/groups/%d/members", g.Group.ID), map[string]any{"user_id": u["groupmate"].ID})
	both := u["dmboth"].direct(s)
	u["dmboth"].say(both.ID, "hi")
	s.say(both.ID, "hello")
	one := u["dmone"].direct(s) // an unsolicited message, never answered
	u["dmone"].say(one.ID, "buy my stuff")

	sees := func(viewer *user) bool {
		var out struct{ Presence []struct{ UserID int64 } }
		viewer.must(200, "GET", fmt.Sprintf("/api/v1/presence?user_ids=%d", s.ID), nil).decode(t, &out)
		return len(out.Presence) == 1
	}
	table := []struct {
		setting string
		seers   map[string]bool
	}{
		{"shared", map[string]bool{"mutual": true, "groupmate": true, "dmboth": true}},
		{"contacts", map[string]bool{"mutual": true}},
		{"nobody", map[string]bool{}},
	}
	for _, row := range table {
		var me struct {
			User struct {
				PresenceVisibility string `json:"presence_visibility"`
			}
		}
		s.must(200, "PATCH", "/api/v1/me", map[string]any{"presence_visibility": row.setting}).decode(t, &me)
		if me.User.PresenceVisibility != row.setting {
			t.Fatalf("PATCH /me answered %+v", me)
		}
		for _, n := range names[1:] {
			if got := sees(u[n]); got != row.seers[n] {
				t.Errorf("setting %s: %s sees the subject: %v, want %v", row.setting, n, got, row.seers[n])
			}
		}
		if !sees(s) {
			t.Errorf("setting %s: the subject does not see themself", row.setting)
		}
	}
	s.must(400, "PATCH", "/api/v1/me", map[string]any{"presence_visibility": "everyone"})

	// live events follow the same rule: a stranger's socket gets none
	s.must(200, "PATCH", "/api/v1/me", map[string]any{"presence_visibility": "shared"})
	watcher, outsider := e.dial(u["mutual"].Token), e.dial(u["onesided"].Token)
	mate := e.dial(u["groupmate"].Token)
	w := e.dial(s.Token)
	watcher.expect("presence")
	mate.expect("presence")
	w.c.CloseNow()
	watcher.expect("presence")
	outsider.quiet(300*time.Millisecond, "conversation.updated")

	// a user whose setting is nobody sees no one's last_seen
	u["mutual"].must(200, "PATCH", "/api/v1/me", map[string]any{"presence_visibility": "nobody"})
	var out struct {
		Presence []struct {
			LastSeen *string `json:"last_seen"`
		}
	}
	u["mutual"].must(200, "GET", fmt.Sprintf("/api/v1/presence?user_ids=%d", u["groupmate"].ID), nil).decode(t, &out)
	s.must(200, "GET", fmt.Sprintf("/api/v1/presence?user_ids=%d", u["mutual"].ID), nil)
	u["groupmate"].must(200, "GET", fmt.Sprintf("/api/v1/presence?user_ids=%d", s.ID), nil).decode(t, &out)
	if len(out.Presence) != 1 || out.Presence[0].LastSeen == nil {
		t.Fatalf("groupmate's view of the subject: %+v", out)
	}
	var hidden struct {
		Presence []struct {
			LastSeen *string `json:"last_seen"`
		}
	}
	contact(u["mutual"], u["groupmate"])
	contact(u["groupmate"], u["mutual"])
	u["mutual"].must(200, "GET", fmt.Sprintf("/api/v1/presence?user_ids=%d", s.ID), nil).decode(t, &hidden)
	if len(hidden.Presence) == 1 && hidden.Presence[0].LastSeen != nil {
		t.Fatalf("a nobody sees last_seen: %+v", hidden)
	}
}

// stuckBus holds every presence event until released, as a bus under load
// or a user watched by many would.
type stuckBus struct {
	*event.Memory
	release chan struct{}
}

func (b *stuckBus) Publish(ctx context.Context, ev event.Event) error {
	if bytes.Contains(ev.Frame, []byte(`"type":"presence"`)) {
		<-b.release
	}
	return b.Memory.Publish(ctx, ev)
}

// TestPresenceDoesNotDelayHello: telling watchers that a user came online
// happens off the connection's path, so hello does not wait for it.
func TestPresenceDoesNotDelayHello(t *testing.T) {
	bus := &stuckBus{release: make(chan struct{})}
	e := newEnv(t, func(o *server.Options) {
		o.NewBus = func(h event.Handler) (event.Bus, error) { bus.Memory = event.NewMemory(h); return bus, nil }
	})
	defer close(bus.release)
	alice := e.user("alice")
	for i := range 20 { // watchers
		w := e.user(fmt.Sprint("watcher", i))
		w.must(201, "POST", "/api/v1/contacts", map[string]any{"user_id": alice.ID})
		alice.must(201, "POST", "/api/v1/contacts", map[string]any{"user_id": w.ID})
	}
	w := e.dialRaw(alice.Token, nil)
	if f := w.nextWithin(3 * time.Second); f.Type != "hello" {
		t.Fatalf("no hello while presence is being published (got %q)", f.Type)
	}
}
