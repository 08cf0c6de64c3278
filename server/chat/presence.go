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
// see; others are left out.
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
	}
	return out, nil
}

// PresenceChanged records an online/offline transition and pushes it to
// everyone who may see it.
func (s *Service) PresenceChanged(ctx context.Context, userID int64, online bool) {
	var lastSeen *time.Time
	if !online {
		now := time.Now().UTC().Truncate(time.Second)
		lastSeen = &now
		if err := s.db.SetLastSeen(ctx, store.SetLastSeenParams{ID: userID, LastSeenAt: lastSeen}); err != nil {
			s.warn("last_seen not saved", "err", err)
		}
	}
	watchers, err := s.db.ListPresenceWatchers(ctx, userID)
	if err != nil {
		s.warn("presence watchers not loaded", "err", err)
		return
	}
	frame := EncodeFrame(FramePresence, Presence{UserID: userID, Online: online, LastSeen: lastSeen})
	evs := make([]event.Event, len(watchers))
	for i, w := range watchers {
		evs[i] = event.Event{Topic: event.UserTopic(w), Frame: frame, Droppable: true}
	}
	s.publish(ctx, evs...)
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
