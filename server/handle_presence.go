package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

type presenceEntry struct {
	UserID   int64      `json:"user_id"`
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen"`
}

// handlePresence answers for the caller's contacts and conversation peers
// among user_ids; others are left out.
func (s *Server) handlePresence(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.Query().Get("user_ids")
	var ids []int64
	for _, p := range strings.Split(raw, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		id, err := strconv.ParseInt(p, 10, 64)
		if err != nil || id <= 0 {
			s.respondError(w, r, validation("user_ids", "user_ids is a comma-separated list of user ids."))
			return
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 || len(ids) > 200 {
		s.respondError(w, r, validation("user_ids", "Ask for 1 to 200 user ids."))
		return
	}
	rows, err := s.opts.DB.ListVisiblePresence(r.Context(), store.ListVisiblePresenceParams{Ids: ids, CallerID: caller(r.Context()).User.ID})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	visible := make([]int64, len(rows))
	for i, row := range rows {
		visible[i] = row.ID
	}
	online, err := s.tracker.Online(r.Context(), visible)
	if err != nil {
		// presence degrades to "offline" rather than failing the request
		s.log.Warn("presence read failed", "err", err)
		online = map[int64]bool{}
	}
	out := make([]presenceEntry, len(rows))
	for i, row := range rows {
		out[i] = presenceEntry{UserID: row.ID, Online: online[row.ID], LastSeen: utc(row.LastSeenAt)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"presence": out})
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// publishPresence records an online/offline transition and pushes it to
// everyone who may see it.
func (s *Server) publishPresence(ctx context.Context, userID int64, online bool) {
	ctx = context.WithoutCancel(ctx) // the change is committed: tell everyone, even if the caller left
	var lastSeen *time.Time
	if !online {
		now := time.Now().UTC().Truncate(time.Second)
		lastSeen = &now
		if err := s.opts.DB.SetLastSeen(ctx, store.SetLastSeenParams{ID: userID, LastSeenAt: lastSeen}); err != nil {
			s.log.Warn("last_seen not saved", "user_id", userID, "err", err)
		}
	}
	watchers, err := s.opts.DB.ListPresenceWatchers(ctx, userID)
	if err != nil {
		s.log.Warn("presence watchers not loaded", "user_id", userID, "err", err)
		return
	}
	frame := encodeFrame(framePresence, presenceData{UserID: userID, Online: online, LastSeen: lastSeen})
	for _, w := range watchers {
		s.publish(ctx, event.Event{Topic: event.UserTopic(w), Frame: frame, Droppable: true})
	}
}
