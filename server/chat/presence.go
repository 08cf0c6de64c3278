package chat

import (
	"context"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// maxPresenceIDs is how many users one presence query may ask for.
const maxPresenceIDs = 200

// Presence answers for the users among ids whose presence the actor may
// see (Presence v1.1); others are left out. A user whose own setting is
// "nobody" sees no one's last_seen.
func (s *Service) Presence(ctx context.Context, me Actor, ids []int64) ([]Presence, error) {
	if len(ids) == 0 || len(ids) > maxPresenceIDs {
		return nil, Validation("user_ids", "Ask for 1 to 200 user ids.")
	}
	rows, err := s.db.ListVisiblePresence(ctx, store.ListVisiblePresenceParams{Ids: ids, CallerID: me.ID()})
	if err != nil {
		return nil, err
	}
	visible := make([]int64, len(rows))
	for i, row := range rows {
		visible[i] = row.ID
	}
	online, err := s.tracker.Online(ctx, visible)
	if err != nil {
		// presence degrades to "offline" rather than failing the request
		s.warn("presence read failed", "err", err)
		online = map[int64]bool{}
	}
	out := make([]Presence, len(rows))
	for i, row := range rows {
		out[i] = Presence{UserID: row.ID, Online: online[row.ID], LastSeen: utc(row.LastSeenAt)}
		if me.User.PresenceVisibility == VisibilityNobody && row.ID != me.ID() {
			out[i].LastSeen = nil
		}
	}
	return out, nil
}

// Presence settings.
const (
	VisibilityShared   = "shared"
	VisibilityContacts = "contacts"
	VisibilityNobody   = "nobody"
)

// PresenceChanged records an online/offline transition and pushes it to
// everyone who may see it: one event on each of the user's groups' topics
// (when their setting shares with groups; a group larger than LargeAudience
// delivers it only to connections viewing one of its channels) and one for
// each mutual contact or direct-chat peer, whatever the groups' sizes. A group's frame carries
// no last_seen (members whose setting is "nobody" see none); a peer's does.
func (s *Service) PresenceChanged(ctx context.Context, userID int64, online bool) {
	var lastSeen *time.Time
	if !online {
		now := time.Now().UTC().Truncate(time.Second)
		lastSeen = &now
		if err := s.db.SetLastSeen(ctx, store.SetLastSeenParams{ID: userID, LastSeenAt: lastSeen}); err != nil {
			s.warn("last_seen not saved", "err", err)
		}
	}
	evs, err := s.presenceEvents(ctx, userID, Presence{UserID: userID, Online: online, LastSeen: lastSeen})
	if err != nil {
		s.warn("presence audience not loaded", "err", err)
		return
	}
	s.publish(ctx, evs...)
}

// presenceEvents are the events that tell p to everyone who may see it.
func (s *Service) presenceEvents(ctx context.Context, userID int64, p Presence) ([]event.Event, error) {
	u, err := s.db.GetUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	watchers, err := s.db.ListPresenceWatchers(ctx, userID)
	if err != nil {
		return nil, err
	}
	full := EncodeFrame(FramePresence, p)
	p.LastSeen = nil
	bare := EncodeFrame(FramePresence, p)
	var evs []event.Event
	if u.PresenceVisibility == VisibilityShared {
		groups, err := s.db.ListUserGroupSizes(ctx, userID)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			evs = append(evs, event.Event{Topic: event.GroupTopic(g.GroupID), Frame: bare, Droppable: true,
				ViewersOnly: g.MemberCount > LargeAudience})
		}
	}
	for _, w := range watchers {
		f := full
		if w.PresenceVisibility == VisibilityNobody {
			f = bare
		}
		evs = append(evs, event.Event{Topic: event.UserTopic(w.UserID), Frame: f, Droppable: true})
	}
	return evs, nil
}

// SetPresenceVisibility changes who may see the actor's presence. Those
// who no longer may see it are told the actor is offline (with no
// last_seen); those who now may are told the actor's state.
func (s *Service) SetPresenceVisibility(ctx context.Context, me Actor, v string) (store.User, error) {
	if v != VisibilityShared && v != VisibilityContacts && v != VisibilityNobody {
		return store.User{}, Validation("presence_visibility", "presence_visibility is shared, contacts or nobody.")
	}
	if v == me.User.PresenceVisibility {
		return me.User, nil
	}
	before, err := s.presenceEvents(ctx, me.ID(), Presence{UserID: me.ID()})
	if err != nil {
		return store.User{}, err
	}
	u, err := s.db.SetPresenceVisibility(ctx, store.SetPresenceVisibilityParams{ID: me.ID(), PresenceVisibility: v})
	if err != nil {
		return store.User{}, err
	}
	online, err := s.tracker.Online(ctx, []int64{me.ID()})
	if err != nil {
		online = map[int64]bool{}
	}
	after, err := s.presenceEvents(ctx, me.ID(), Presence{UserID: me.ID(), Online: online[me.ID()], LastSeen: utc(u.LastSeenAt)})
	if err != nil {
		return store.User{}, err
	}
	s.publish(ctx, append(before, after...)...)
	return u, nil
}

// Routes are the conversations and groups a user's connections route.
type Routes struct {
	Conversations []int64
	Groups        []int64
}

// UserRoutes lists what a new connection of the user routes.
func (s *Service) UserRoutes(ctx context.Context, userID int64) (Routes, error) {
	rows, err := s.db.ListUserRoutes(ctx, userID)
	if err != nil {
		return Routes{}, err
	}
	r := Routes{Conversations: make([]int64, len(rows))}
	seen := map[int64]bool{}
	for i, row := range rows {
		r.Conversations[i] = row.ConversationID
		if row.GroupID != nil && !seen[*row.GroupID] {
			seen[*row.GroupID] = true
			r.Groups = append(r.Groups, *row.GroupID)
		}
	}
	return r, nil
}
