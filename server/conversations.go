package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// Conversation is the protocol's Conversation, as one member sees it.
type Conversation struct {
	ID               int64     `json:"id"`
	Kind             string    `json:"kind"`
	Title            string    `json:"title"`
	Peer             *User     `json:"peer,omitempty"`
	GroupID          *int64    `json:"group_id,omitempty"`
	Name             *string   `json:"name,omitempty"`
	LastSeq          int64     `json:"last_seq"`
	LastMessage      *Message  `json:"last_message"`
	DeliveredSeq     int64     `json:"delivered_seq"`
	ReadSeq          int64     `json:"read_seq"`
	UnreadCount      int64     `json:"unread_count"`
	Pinned           bool      `json:"pinned"`
	Archived         bool      `json:"archived"`
	Muted            bool      `json:"muted"`
	ClearedSeq       int64     `json:"cleared_seq"`
	PeerDeliveredSeq *int64    `json:"peer_delivered_seq,omitempty"`
	PeerReadSeq      *int64    `json:"peer_read_seq,omitempty"`
	MemberCount      int64     `json:"member_count"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func conversationJSON(r store.MemberConversation) Conversation {
	c := Conversation{
		ID: r.ID, Kind: r.Kind, LastSeq: r.LastSeq, DeliveredSeq: r.DeliveredSeq, ReadSeq: r.ReadSeq,
		UnreadCount: r.UnreadCount, Pinned: r.Pinned, Archived: r.Archived, Muted: r.Muted,
		ClearedSeq: r.ClearedSeq, MemberCount: r.MemberCount, UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.Kind == "direct" {
		c.Peer = &User{ID: r.PeerID, Username: r.PeerUsername, DisplayName: r.PeerDisplayName, CreatedAt: r.PeerCreatedAt.UTC()}
		c.Title = r.PeerDisplayName
		if r.PeerAlias != nil {
			c.Title = *r.PeerAlias
		}
		c.PeerDeliveredSeq, c.PeerReadSeq = &r.PeerDeliveredSeq, &r.PeerReadSeq
	} else {
		c.GroupID, c.Name, c.Title = r.GroupID, &r.Name, r.Name
	}
	if r.LastID != nil {
		c.LastMessage = &Message{ID: *r.LastID, ConversationID: r.ID, Seq: r.LastSeq, SenderID: *r.LastSenderID,
			ClientID: *r.LastClientID, Body: *r.LastBody, CreatedAt: r.LastCreatedAt.UTC()}
	}
	return c
}

// conversation loads one conversation as userID sees it; 404 for a
// non-member.
func (s *Server) conversation(ctx context.Context, userID, convID int64) (Conversation, error) {
	return conversationQ(ctx, s.opts.DB.Queries, userID, convID)
}

// respondConversation answers with userID's view of a conversation.
func (s *Server) respondConversation(w http.ResponseWriter, r *http.Request, status int, userID, convID int64) {
	c, err := s.conversation(r.Context(), userID, convID)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, status, conversationData{Conversation: c})
}

func conversationQ(ctx context.Context, q *store.Queries, userID, convID int64) (Conversation, error) {
	rows, err := q.ListConversations(ctx, store.ListConversationsParams{UserID: userID, ConversationID: &convID, IncludeHidden: true})
	if err != nil {
		return Conversation{}, err
	}
	if len(rows) == 0 {
		return Conversation{}, errNotFound
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
		Frame: encodeFrame(frameConversationUpdated, conversationData{Conversation: c}),
	}, nil
}

// directKey names the one direct conversation of a pair of users.
func directKey(a, b int64) string { return fmt.Sprintf("%d:%d", min(a, b), max(a, b)) }

// pathID reads a positive integer id from the path; anything else is 404.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

func (s *Server) handleListConversations(w http.ResponseWriter, r *http.Request) {
	rows, err := s.opts.DB.ListConversations(r.Context(), store.ListConversationsParams{UserID: caller(r.Context()).User.ID})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	out := make([]Conversation, len(rows))
	for i, row := range rows {
		out[i] = conversationJSON(row)
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": out})
}

func (s *Server) handleGetConversation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondConversation(w, r, http.StatusOK, caller(r.Context()).User.ID, id)
}

// handleDirect gets or creates the one direct conversation between the
// caller and another user. Concurrent creates from both sides meet on the
// unique direct_key.
func (s *Server) handleDirect(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	me := caller(r.Context()).User
	if in.UserID == me.ID {
		s.respondError(w, r, validation("user_id", "You cannot start a chat with yourself."))
		return
	}
	if in.UserID <= 0 {
		s.respondError(w, r, validation("user_id", "user_id is required."))
		return
	}
	if _, err := s.opts.DB.GetUser(r.Context(), in.UserID); err != nil {
		s.respondError(w, r, err)
		return
	}
	key := directKey(me.ID, in.UserID)
	var convID int64
	err := s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		peerAdded := false
		id, err := q.CreateDirect(r.Context(), &key)
		if store.IsNotFound(err) { // it exists
			id, err = q.GetDirectByKey(r.Context(), &key)
		} else if err == nil {
			peerAdded = true
			if err := q.AddMember(r.Context(), store.AddMemberParams{ConversationID: id, UserID: in.UserID, Hidden: true}); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		convID = id
		if err := q.AddMember(r.Context(), store.AddMemberParams{ConversationID: id, UserID: me.ID, Hidden: false}); err != nil {
			return err
		}
		n, err := q.ShowConversation(r.Context(), store.ShowConversationParams{ConversationID: id, UserID: me.ID})
		if err != nil {
			return err
		}
		if peerAdded || n > 0 {
			// the caller's other devices list it; the peer's route its events
			ev, err := conversationEvent(r.Context(), q, me.ID, id)
			if err != nil {
				return err
			}
			ob.add(ev)
		}
		if peerAdded {
			ob.add(event.Event{Topic: event.UserTopic(in.UserID), Join: []int64{id}})
		}
		return nil
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondConversation(w, r, http.StatusOK, me.ID, convID)
}

func (s *Server) handlePatchConversation(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Pinned   *bool `json:"pinned"`
		Archived *bool `json:"archived"`
		Muted    *bool `json:"muted"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	uid := caller(r.Context()).User.ID
	var c Conversation
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		n, err := q.UpdateMemberFlags(r.Context(), store.UpdateMemberFlagsParams{
			ConversationID: id, UserID: uid, Pinned: in.Pinned, Archived: in.Archived, Muted: in.Muted})
		if err == nil && n == 0 {
			return errNotFound
		}
		if err != nil {
			return err
		}
		if c, err = conversationQ(r.Context(), q, uid, id); err != nil {
			return err
		}
		ob.add(event.Event{Topic: event.UserTopic(uid),
			Frame: encodeFrame(frameConversationUpdated, conversationData{Conversation: c})})
		return nil
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, conversationData{Conversation: c})
}

// clearConversation hides the current history from the caller; with hide
// (DELETE) it also leaves the caller's list until a new message arrives.
func (s *Server) clearConversation(w http.ResponseWriter, r *http.Request, hide bool) {
	id, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	uid := caller(r.Context()).User.ID
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		n, err := q.ClearConversation(r.Context(), store.ClearConversationParams{ConversationID: id, UserID: uid, Hide: hide})
		if err == nil && n == 0 {
			return errNotFound
		}
		if err != nil {
			return err
		}
		if hide {
			ob.add(event.Event{Topic: event.UserTopic(uid),
				Frame: encodeFrame(frameConversationRemoved, conversationRemovedData{ConversationID: id})})
			return nil
		}
		ev, err := conversationEvent(r.Context(), q, uid, id)
		ob.add(ev)
		return err
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleClearConversation(w http.ResponseWriter, r *http.Request) {
	s.clearConversation(w, r, false)
}

func (s *Server) handleDeleteConversation(w http.ResponseWriter, r *http.Request) {
	s.clearConversation(w, r, true)
}
