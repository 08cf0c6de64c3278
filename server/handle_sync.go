package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/parleychat/parley/store"
)

// Sync cursors are "x" and a transaction id: opaque to clients, valid on
// every node (they come from the shared database) and never expiring.
const cursorPrefix = "x"

func parseCursor(s string) (int64, bool) {
	if !strings.HasPrefix(s, cursorPrefix) {
		return 0, false
	}
	n, err := strconv.ParseInt(s[len(cursorPrefix):], 10, 64)
	return n, err == nil && n >= 0
}

// handleSync returns everything about the caller's conversations that
// changed at or after the cursor's transaction, and a new cursor. The cursor
// is read before the query, so a change committed during the query is sent
// now or next time, never lost (at worst twice).
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
		gone, err := s.opts.DB.ListRemovals(r.Context(), store.ListRemovalsParams{UserID: uid, ChangeXid: *params.Since})
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		removed = append(removed, gone...)
		if removedGroups, err = s.opts.DB.ListGroupRemovals(r.Context(), store.ListGroupRemovalsParams{UserID: uid, ChangeXid: *params.Since}); err != nil {
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
		"cursor":         cursorPrefix + strconv.FormatInt(cursor, 10),
		"conversations":  convs,
		"removed":        removed,
		"groups":         groups,
		"removed_groups": removedGroups,
	})
}
