package chat

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/parleychat/parley/store"
)

// A sync cursor is a database snapshot (pg_current_snapshot, "xmin:xmax:xip,…")
// written URL-safe after an "s": opaque to clients, valid on every node
// (they share the database), never expiring.
const cursorPrefix = "s"

func encodeCursor(snapshot string) string {
	return cursorPrefix + strings.NewReplacer(":", ".", ",", "_").Replace(snapshot)
}

// parseCursor checks a cursor completely, as PostgreSQL would check the
// snapshot in it (no zero ids, xmin ≤ xmax, in-progress ids ascending and
// in [xmin, xmax)), so a malformed one is the client's 400, never the
// database's error.
func parseCursor(s string) (string, bool) {
	if !strings.HasPrefix(s, cursorPrefix) || len(s) > 4096 {
		return "", false
	}
	parts := strings.Split(s[len(cursorPrefix):], ".")
	if len(parts) != 3 {
		return "", false
	}
	xmin, ok1 := parseXid(parts[0])
	xmax, ok2 := parseXid(parts[1])
	if !ok1 || !ok2 || xmin > xmax {
		return "", false
	}
	if parts[2] != "" {
		last := xmin
		for _, p := range strings.Split(parts[2], "_") {
			x, ok := parseXid(p)
			if !ok || x < last || x >= xmax {
				return "", false
			}
			last = x
		}
	}
	return strings.NewReplacer(".", ":", "_", ",").Replace(s[len(cursorPrefix):]), true
}

// parseXid reads a transaction id: digits only, not zero, at most 2^63-1
// (the database's xid8 as a bigint).
func parseXid(s string) (uint64, bool) {
	if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	x, err := strconv.ParseUint(s, 10, 63)
	return x, err == nil && x > 0
}

// SyncResult is what changed after a cursor, and the next cursor.
type SyncResult struct {
	Cursor        string         `json:"cursor"`
	Conversations []Conversation `json:"conversations"`
	Removed       []int64        `json:"removed"`
	Groups        []Group        `json:"groups"`
	RemovedGroups []int64        `json:"removed_groups"`
	// messages changed (edited, deleted, reacted to) after the cursor
	UpdatedMessages          []Message `json:"updated_messages"`
	UpdatedMessagesTruncated bool      `json:"updated_messages_truncated"`
}

// Sync returns everything about the actor's conversations and groups that
// the cursor's snapshot did not see (everything, without one), and a new
// cursor. The new snapshot is taken before the query, so a change
// committed during the query is sent now or next time, never lost (at
// worst twice).
func (s *Service) Sync(ctx context.Context, me Actor, since string) (SyncResult, error) {
	params := store.ListConversationsParams{UserID: me.ID()}
	if since != "" {
		snap, ok := parseCursor(since)
		if !ok {
			return SyncResult{}, Validation("since", "That sync cursor is malformed; sync without since for the full state.")
		}
		params.Since, params.IncludeHidden = &snap, true
	}
	cursor, err := s.db.SyncCursor(ctx)
	if err != nil {
		return SyncResult{}, err
	}
	rows, err := s.db.ListConversations(ctx, params)
	if err != nil {
		return SyncResult{}, err
	}
	out := SyncResult{Cursor: encodeCursor(cursor), Conversations: make([]Conversation, 0, len(rows)),
		Removed: []int64{}, RemovedGroups: []int64{}, UpdatedMessages: []Message{}}
	for _, row := range rows {
		if row.Hidden {
			out.Removed = append(out.Removed, row.ID)
			continue
		}
		out.Conversations = append(out.Conversations, conversationJSON(row))
	}
	if params.Since != nil {
		gone, err := s.db.ListRemovals(ctx, store.ListRemovalsParams{UserID: me.ID(), Since: *params.Since})
		if err != nil {
			return SyncResult{}, err
		}
		out.Removed = append(out.Removed, gone...)
		if out.RemovedGroups, err = s.db.ListGroupRemovals(ctx, store.ListGroupRemovalsParams{UserID: me.ID(), Since: *params.Since}); err != nil {
			return SyncResult{}, err
		}
		changed, err := s.db.ListUpdatedMessages(ctx, store.ListUpdatedMessagesParams{
			UserID: me.ID(), Xmin: cursorXmin(*params.Since), Since: *params.Since, Lim: maxUpdatedInSync + 1})
		if err != nil {
			return SyncResult{}, err
		}
		out.UpdatedMessagesTruncated = len(changed) > maxUpdatedInSync
		if out.UpdatedMessages, err = hydrate(ctx, s.db.Queries, changed[:min(len(changed), maxUpdatedInSync)]); err != nil {
			return SyncResult{}, err
		}
	}
	out.Groups, err = groups(ctx, s.db.Queries, me.ID(), nil, params.Since)
	return out, err
}

// CatchUpLimit bounds the messages CatchUp replays per conversation; a
// client that misses more finds the gap by seq and fetches it.
const CatchUpLimit = 100

// CatchUpConversation is what CatchUp replays of one conversation: its
// conversation.updated, then the message.created of each message (by id).
type CatchUpConversation struct {
	ID       int64
	Updated  []byte
	Messages []CatchUpMessage
}

// CatchUpMessage is one replayed message's frame.
type CatchUpMessage struct {
	ID    int64
	Frame []byte
}

// CatchUp returns what a user who just joined conversations may have
// missed while their node bound the conversations' topics: the live
// messages of each above its seq when they joined (since, beside convIDs)
// and not yet delivered to them, in seq order. One query when there is
// nothing to catch up.
func (s *Service) CatchUp(ctx context.Context, userID int64, convIDs, since []int64) ([]CatchUpConversation, error) {
	rows, err := s.db.ListCatchUp(ctx, store.ListCatchUpParams{UserID: userID, ConversationIds: convIDs, Since: since, Lim: CatchUpLimit})
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	msgs, err := hydrate(ctx, s.db.Queries, rows)
	if err != nil {
		return nil, err
	}
	var out []CatchUpConversation
	for i, m := range msgs {
		if n := len(out); n == 0 || out[n-1].ID != m.ConversationID {
			out = append(out, CatchUpConversation{ID: m.ConversationID})
		}
		last := &out[len(out)-1]
		last.Messages = append(last.Messages, CatchUpMessage{ID: rows[i].ID,
			Frame: EncodeFrame(FrameMessageCreated, MessageData{Message: m})})
	}
	kept := out[:0]
	for _, cu := range out {
		c, err := conversationQ(ctx, s.db.Queries, userID, cu.ID)
		if errors.Is(err, ErrNotFound) {
			continue // left again since
		} else if err != nil {
			return nil, err
		}
		cu.Updated = EncodeFrame(FrameConversationUpdated, ConversationData{Conversation: c})
		kept = append(kept, cu)
	}
	return kept, nil
}
