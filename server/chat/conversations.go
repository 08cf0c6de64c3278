package chat

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// ListConversations is the actor's conversation list: pinned first, then by
// latest activity; deleted ones left out.
func (s *Service) ListConversations(ctx context.Context, me Actor) ([]Conversation, error) {
	rows, err := s.db.ListConversations(ctx, store.ListConversationsParams{UserID: me.ID()})
	if err != nil {
		return nil, err
	}
	out := make([]Conversation, len(rows))
	for i, row := range rows {
		out[i] = conversationJSON(row)
	}
	return out, nil
}

// GetConversation is one conversation as the actor sees it; 404 for a
// non-member.
func (s *Service) GetConversation(ctx context.Context, me Actor, convID int64) (Conversation, error) {
	return conversationQ(ctx, s.db.Queries, me.ID(), convID)
}

func conversationQ(ctx context.Context, q *store.Queries, userID, convID int64) (Conversation, error) {
	rows, err := q.ListConversations(ctx, store.ListConversationsParams{UserID: userID, ConversationID: &convID, IncludeHidden: true})
	if err != nil {
		return Conversation{}, err
	}
	if len(rows) == 0 {
		return Conversation{}, ErrNotFound
	}
	return conversationJSON(rows[0]), nil
}

// conversationEvent is conversation.updated with userID's view of a
// conversation, routing its events to them too.
func conversationEvent(ctx context.Context, q *store.Queries, userID, convID int64) (event.Event, error) {
	c, err := conversationQ(ctx, q, userID, convID)
	if err != nil {
		return event.Event{}, err
	}
	return event.Event{
		Topic: event.UserTopic(userID), Join: []int64{convID},
		Frame: EncodeFrame(FrameConversationUpdated, ConversationData{Conversation: c}),
	}, nil
}

// directKey names the one direct conversation of a pair of users.
func directKey(a, b int64) string { return fmt.Sprintf("%d:%d", min(a, b), max(a, b)) }

// Direct gets or creates the one direct conversation between the actor and
// another user. Concurrent creates from both sides meet on the unique
// direct_key.
func (s *Service) Direct(ctx context.Context, me Actor, peerID int64) (Conversation, error) {
	if peerID == me.ID() {
		return Conversation{}, Validation("user_id", "You cannot start a chat with yourself.")
	}
	if peerID <= 0 {
		return Conversation{}, Validation("user_id", "user_id is required.")
	}
	if _, err := s.db.GetUser(ctx, peerID); err != nil {
		return Conversation{}, err
	}
	key := directKey(me.ID(), peerID)
	var conv Conversation
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		peerAdded := false
		id, err := q.CreateDirect(ctx, &key)
		if store.IsNotFound(err) { // it exists
			id, err = q.GetDirectByKey(ctx, &key)
		} else if err == nil {
			peerAdded = true
			if err := q.AddMember(ctx, store.AddMemberParams{ConversationID: id, UserID: peerID, Hidden: true}); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		if err := q.AddMember(ctx, store.AddMemberParams{ConversationID: id, UserID: me.ID(), Hidden: false}); err != nil {
			return err
		}
		n, err := q.ShowConversation(ctx, store.ShowConversationParams{ConversationID: id, UserID: me.ID()})
		if err != nil {
			return err
		}
		if conv, err = conversationQ(ctx, q, me.ID(), id); err != nil {
			return err
		}
		if peerAdded || n > 0 {
			// the caller's other devices list it; the peer's route its events
			ob.add(event.Event{Topic: event.UserTopic(me.ID()), Join: []int64{id},
				Frame: EncodeFrame(FrameConversationUpdated, ConversationData{Conversation: conv})})
		}
		if peerAdded {
			ob.add(event.Event{Topic: event.UserTopic(peerID), Join: []int64{id}})
		}
		return nil
	})
	return conv, err
}

// Flags are the member's own flags; nil leaves one as it is.
type Flags struct {
	Pinned   *bool   `json:"pinned"`
	Archived *bool   `json:"archived"`
	Muted    *bool   `json:"muted"`
	Notify   *string `json:"notify"`
}

// SetFlags changes the actor's own flags of a conversation; their other
// devices follow.
func (s *Service) SetFlags(ctx context.Context, me Actor, convID int64, f Flags) (Conversation, error) {
	if f.Notify != nil && *f.Notify != "all" && *f.Notify != "mentions" && *f.Notify != "none" {
		return Conversation{}, Validation("notify", `notify is "all", "mentions" or "none".`)
	}
	var c Conversation
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		n, err := q.UpdateMemberFlags(ctx, store.UpdateMemberFlagsParams{
			ConversationID: convID, UserID: me.ID(), Pinned: f.Pinned, Archived: f.Archived, Muted: f.Muted, Notify: f.Notify})
		if err == nil && n == 0 {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if c, err = conversationQ(ctx, q, me.ID(), convID); err != nil {
			return err
		}
		ob.add(event.Event{Topic: event.UserTopic(me.ID()),
			Frame: EncodeFrame(FrameConversationUpdated, ConversationData{Conversation: c})})
		return nil
	})
	return c, err
}

// ClearConversation hides the current history from the actor; with hide
// (a delete) it also leaves the actor's list until a new message arrives.
func (s *Service) ClearConversation(ctx context.Context, me Actor, convID int64, hide bool) error {
	return s.change(ctx, func(q *store.Queries, ob *outbox) error {
		n, err := q.ClearConversation(ctx, store.ClearConversationParams{ConversationID: convID, UserID: me.ID(), Hide: hide})
		if err == nil && n == 0 {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if hide {
			ob.add(event.Event{Topic: event.UserTopic(me.ID()),
				Frame: EncodeFrame(FrameConversationRemoved, ConversationRemovedData{ConversationID: convID})})
			return nil
		}
		ev, err := conversationEvent(ctx, q, me.ID(), convID)
		if err != nil {
			return err
		}
		ob.add(ev)
		return nil
	})
}
