package chat

import (
	"context"
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

// CatchUpRequest is a member who just joined conversations, with each
// one's seq when they joined (Since, beside Convs).
type CatchUpRequest struct {
	User         int64
	Convs, Since []int64
}

// CatchUp returns, by member, what members who just joined conversations
// may have missed while their node bound the conversations' topics: the
// live messages of each above its seq when they joined and not yet
// delivered to them, in seq order. However many members: one query when
// there is nothing to catch up, and seven when there is (what was missed,
// the messages, their reactions, mentions, files and link previews, and
// the members' views); each missed message is read and encoded once,
// whoever missed it.
func (s *Service) CatchUp(ctx context.Context, reqs []CatchUpRequest) (map[int64][]CatchUpConversation, error) {
	p := store.ListCatchUpParams{Lim: CatchUpLimit}
	for _, r := range reqs {
		for i, cid := range r.Convs {
			since := int64(0)
			if i < len(r.Since) {
				since = r.Since[i]
			}
			p.UserIds = append(p.UserIds, r.User)
			p.ConversationIds = append(p.ConversationIds, cid)
			p.Since = append(p.Since, since)
		}
	}
	if len(p.UserIds) == 0 {
		return nil, nil
	}
	rows, err := s.db.ListCatchUp(ctx, p)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	var ids []int64
	seen := map[int64]bool{}
	for _, r := range rows {
		if !seen[r.MessageID] {
			seen[r.MessageID] = true
			ids = append(ids, r.MessageID)
		}
	}
	stored, err := s.db.ListMessagesByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	msgs, err := hydrate(ctx, s.db.Queries, stored)
	if err != nil {
		return nil, err
	}
	frames := make(map[int64][]byte, len(msgs))
	for i, m := range msgs {
		if !stored[i].Deleted {
			frames[stored[i].ID] = EncodeFrame(FrameMessageCreated, MessageData{Message: m})
		}
	}
	out := map[int64][]CatchUpConversation{}
	for _, r := range rows { // by member, conversation and seq
		f, ok := frames[r.MessageID]
		if !ok {
			continue // deleted since
		}
		list := out[r.UserID]
		if n := len(list); n == 0 || list[n-1].ID != r.ConversationID {
			list = append(list, CatchUpConversation{ID: r.ConversationID})
		}
		last := &list[len(list)-1]
		last.Messages = append(last.Messages, CatchUpMessage{ID: r.MessageID, Frame: f})
		out[r.UserID] = list
	}
	// and the view of each conversation of each member it replays to, in
	// one query: a member who left again since has none
	var p2 store.ListMemberViewsParams
	for uid, list := range out {
		for _, cu := range list {
			p2.MemberIds = append(p2.MemberIds, uid)
			p2.ConversationIds = append(p2.ConversationIds, cu.ID)
		}
	}
	views, err := s.db.ListMemberViews(ctx, p2)
	if err != nil {
		return nil, err
	}
	type key struct{ user, conv int64 }
	updated := make(map[key][]byte, len(views))
	for _, v := range views {
		updated[key{v.MemberID, v.ID}] = EncodeFrame(FrameConversationUpdated, ConversationData{Conversation: conversationJSON(v)})
	}
	for uid, list := range out {
		kept := list[:0]
		for _, cu := range list {
			if cu.Updated = updated[key{uid, cu.ID}]; cu.Updated != nil {
				kept = append(kept, cu)
			}
		}
		if len(kept) == 0 {
			delete(out, uid)
		} else {
			out[uid] = kept
		}
	}
	return out, nil
}
