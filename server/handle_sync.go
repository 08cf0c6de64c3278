package server

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/parleychat/parley/store"
)

// A sync cursor is a database snapshot (pg_current_snapshot, "xmin:xmax:xip,…")
// written URL-safe after an "s": opaque to clients, valid on every node
// (they share the database), never expiring.
const cursorPrefix = "s"

var cursorShape = regexp.MustCompile(`^[0-9]{1,20}\.[0-9]{1,20}\.([0-9]{1,20}(_[0-9]{1,20})*)?$`)

func encodeCursor(snapshot string) string {
	return cursorPrefix + strings.NewReplacer(":", ".", ",", "_").Replace(snapshot)
}

func parseCursor(s string) (string, bool) {
	if !strings.HasPrefix(s, cursorPrefix) || len(s) > 4096 || !cursorShape.MatchString(s[len(cursorPrefix):]) {
		return "", false
	}
	return strings.NewReplacer(".", ":", "_", ",").Replace(s[len(cursorPrefix):]), true
}

// handleSync returns everything about the caller's conversations that the
// cursor's snapshot did not see, and a new cursor. The new snapshot is taken
// before the query, so a change committed during the query is sent now or
// next time, never lost (at worst twice).
func (s *Server) handleSync(w http.ResponseWriter, r *http.Request) {
	uid := caller(r.Context()).User.ID
	params := store.ListConversationsParams{UserID: uid}
	if v := r.URL.Query().Get("since"); v != "" {
		since, ok := parseCursor(v)
		if !ok {
			s.respondError(w, r, validation("since", "That sync cursor is malformed; sync without since for the full state."))
			return
		}
		params.Since, params.IncludeHidden = &since, true
	}
	cursor, err := s.opts.DB.SyncCursor(r.Context())
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	rows, err := s.opts.DB.ListConversations(r.Context(), params)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	convs := make([]Conversation, 0, len(rows))
	removed := []int64{}
	for _, row := range rows {
		if row.Hidden {
			removed = append(removed, row.ID)
			continue
		}
		convs = append(convs, conversationJSON(row))
	}
	removedGroups := []int64{}
	if params.Since != nil {
		gone, err := s.opts.DB.ListRemovals(r.Context(), store.ListRemovalsParams{UserID: uid, Since: *params.Since})
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		removed = append(removed, gone...)
		if removedGroups, err = s.opts.DB.ListGroupRemovals(r.Context(), store.ListGroupRemovalsParams{UserID: uid, Since: *params.Since}); err != nil {
			s.respondError(w, r, err)
			return
		}
	}
	groups, err := s.groups(r.Context(), uid, nil, params.Since)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"cursor":         encodeCursor(cursor),
		"conversations":  convs,
		"removed":        removed,
		"groups":         groups,
		"removed_groups": removedGroups,
	})
}
