package chat

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// The life of a message after it is sent (docs/protocol.md, Messages
// v1.1): replies and mentions at the send, edits with their history,
// deletes that erase, reactions. Every change takes the message's row
// lock, bumps its version and marks it changed for /sync in the same
// transaction as its message.updated event, so clients that keep the
// highest version end on the same state whatever order events arrive in.

const (
	maxReactions     = 20 // distinct emoji on one message
	bigChannel       = 50 // members above which only admins mention everyone
	maxUpdatedInSync = 500
)

// resolvedMentions are the members a body names, and whether it names
// everyone.
type resolvedMentions struct {
	userIDs []int64
	all     bool
}

// sendChecks checks what a send names beyond its body (the message it
// answers, whom it mentions) and resolves the mentions. A body with
// neither costs no query.
func (s *Service) sendChecks(ctx context.Context, me Actor, convID int64, out Outgoing) (resolvedMentions, error) {
	p := parseMentions(out.Body)
	if out.ReplyToSeq == nil && !p.all && len(p.names) == 0 {
		return resolvedMentions{userIDs: []int64{}}, nil
	}
	return s.mentionsFor(ctx, s.db.Queries, me, convID, p, out.ReplyToSeq)
}

// mentionsFor resolves parsed mentions to members, checks who may mention
// everyone, and checks a reply's seq.
func (s *Service) mentionsFor(ctx context.Context, q *store.Queries, me Actor, convID int64, p parsedMentions, replyTo *int64) (resolvedMentions, error) {
	r := resolvedMentions{userIDs: []int64{}, all: p.all}
	sc, err := q.GetSendContext(ctx, store.GetSendContextParams{ConversationID: convID, UserID: me.ID()})
	if store.IsNotFound(err) {
		return r, ErrNotFound
	} else if err != nil {
		return r, err
	}
	if replyTo != nil && (*replyTo < 1 || *replyTo > sc.LastSeq) {
		return r, Validation("reply_to_seq", "reply_to_seq names an earlier message of this conversation.")
	}
	if p.all && sc.Kind == "channel" && sc.MemberCount > bigChannel && sc.Role != RoleAdmin && sc.Role != RoleOwner {
		return r, NewError(CodeForbidden, "In a channel of more than 50 members, only its group's admins may mention everyone.")
	}
	if len(p.names) > 0 {
		rows, err := q.ListMentionable(ctx, store.ListMentionableParams{ConversationID: convID, Usernames: p.names})
		if err != nil {
			return r, err
		}
		for _, u := range rows {
			if u.ID != me.ID() {
				r.userIDs = append(r.userIDs, u.ID)
			}
		}
		slices.Sort(r.userIDs)
	}
	return r, nil
}

// hydrate adds reactions and named mentions to messages: two queries for
// any number of them.
func hydrate(ctx context.Context, q *store.Queries, rows []store.Message) ([]Message, error) {
	out := make([]Message, len(rows))
	ids := make([]int64, len(rows))
	at := make(map[int64]int, len(rows))
	for i, m := range rows {
		out[i], ids[i], at[m.ID] = messageJSON(m), m.ID, i
	}
	if len(rows) == 0 {
		return out, nil
	}
	reactions, err := q.ListReactions(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, r := range reactions {
		m := &out[at[r.MessageID]]
		m.Reactions = append(m.Reactions, Reaction{Emoji: r.Emoji, UserIDs: r.UserIds})
	}
	mentions, err := q.ListMentions(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, mn := range mentions {
		m := &out[at[mn.MessageID]]
		m.Mentions.UserIDs = append(m.Mentions.UserIDs, mn.UserID)
	}
	attached, err := q.ListMessageFiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, f := range attached {
		m := &out[at[*f.MessageID]]
		m.Attachments = append(m.Attachments, attachmentJSON(f))
	}
	previews, err := q.ListMessagePreviews(ctx, ids)
	if err != nil {
		return nil, err
	}
	byMessage := map[int64][]store.ListMessagePreviewsRow{}
	for _, p := range previews {
		byMessage[p.MessageID] = append(byMessage[p.MessageID], p)
	}
	for id, ps := range byMessage {
		out[at[id]].Previews = previewsJSON(rows[at[id]], ps)
	}
	return out, nil
}

// readable loads one message the actor may read: a member's, above their
// cleared_seq.
func readable(ctx context.Context, q *store.Queries, me Actor, convID, seq int64, lock bool) (store.Message, store.Member, error) {
	member, err := q.GetMember(ctx, store.GetMemberParams{ConversationID: convID, UserID: me.ID()})
	if err != nil {
		return store.Message{}, member, err
	}
	if seq <= member.ClearedSeq {
		return store.Message{}, member, ErrNotFound
	}
	var m store.Message
	if lock {
		m, err = q.LockMessage(ctx, store.LockMessageParams{ConversationID: convID, Seq: seq})
	} else {
		m, err = q.GetMessage(ctx, store.GetMessageParams{ConversationID: convID, Seq: seq})
	}
	return m, member, err
}

// GetMessage is one message, for a quote whose original is not loaded.
func (s *Service) GetMessage(ctx context.Context, me Actor, convID, seq int64) (Message, error) {
	m, _, err := readable(ctx, s.db.Queries, me, convID, seq, false)
	if err != nil {
		return Message{}, err
	}
	full, err := hydrate(ctx, s.db.Queries, []store.Message{m})
	if err != nil {
		return Message{}, err
	}
	return full[0], nil
}

// Revision is an earlier body of an edited message.
type Revision struct {
	Body string    `json:"body"`
	At   time.Time `json:"at"`
}

// Revisions lists an edited message's earlier bodies, oldest first (none
// for a deleted one).
func (s *Service) Revisions(ctx context.Context, me Actor, convID, seq int64) ([]Revision, error) {
	m, _, err := readable(ctx, s.db.Queries, me, convID, seq, false)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.ListRevisions(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Revision, len(rows))
	for i, r := range rows {
		out[i] = Revision{Body: r.Body, At: r.WrittenAt.UTC()}
	}
	return out, nil
}

// bump gives a message a new version for a change kept beside it (a
// reaction, a thumbnail, previews) and sends message.updated.
func bump(ctx context.Context, q *store.Queries, ob *outbox, id int64) error {
	m, err := q.BumpMessage(ctx, id)
	if err != nil {
		return err
	}
	_, err = updated(ctx, q, ob, m)
	return err
}

// updated ends every change to a message: the message as it is now, and
// its message.updated event to every member.
func updated(ctx context.Context, q *store.Queries, ob *outbox, m store.Message) (Message, error) {
	full, err := hydrate(ctx, q, []store.Message{m})
	if err != nil {
		return Message{}, err
	}
	ob.add(event.Event{Topic: event.ConversationTopic(m.ConversationID), MessageID: m.ID,
		Frame: EncodeFrame(FrameMessageUpdated, MessageData{Message: full[0]})})
	return full[0], nil
}

var (
	errNotSender = NewError(CodeForbidden, "Only its sender may edit a message.")
	errDeleted   = Conflict("That message was deleted.")
)

// Edit changes a message's body (its sender only), keeping the earlier
// one; mentions are worked out again from the new body.
func (s *Service) Edit(ctx context.Context, me Actor, convID, seq int64, body string) (Message, error) {
	if err := checkBody(body); err != nil {
		return Message{}, err
	}
	var out Message
	var added []string // links the edit brings
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		m, _, err := readable(ctx, q, me, convID, seq, true)
		if err != nil {
			return err
		}
		switch {
		case m.SenderID != me.ID():
			return errNotSender
		case m.Deleted:
			return errDeleted
		case m.Body == body:
			out, err = s.GetMessage(ctx, me, convID, seq) // nothing changes
			return err
		}
		mentions, err := s.mentionsFor(ctx, q, me, convID, parseMentions(body), nil)
		if err != nil {
			return err
		}
		written := m.CreatedAt
		if m.EditedAt != nil {
			written = *m.EditedAt
		}
		if err := q.AddRevision(ctx, store.AddRevisionParams{MessageID: m.ID, Body: m.Body, WrittenAt: written}); err != nil {
			return err
		}
		if err := q.DeleteMentions(ctx, m.ID); err != nil {
			return err
		}
		if err := q.AddMentions(ctx, store.AddMentionsParams{MessageID: m.ID, ConversationID: convID, Seq: seq, UserIds: mentions.userIDs}); err != nil {
			return err
		}
		if _, err := q.KeepMessagePreviews(ctx, store.KeepMessagePreviewsParams{MessageID: m.ID, Urls: append([]string{}, links(body)...)}); err != nil {
			return err
		}
		if !m.PreviewsOff {
			before := map[string]bool{}
			for _, u := range links(m.Body) {
				before[u] = true
			}
			for _, u := range links(body) {
				if !before[u] {
					added = append(added, u)
				}
			}
		}
		if m, err = q.EditMessage(ctx, store.EditMessageParams{ID: m.ID, Body: body, MentionAll: mentions.all}); err != nil {
			return err
		}
		out, err = updated(ctx, q, ob, m)
		return err
	})
	if err == nil {
		s.previewWork.queueLinks(out.ID, added)
	}
	return out, err
}

// Delete erases a message, leaving a tombstone with its seq: by its
// sender, or in a channel by an admin or the owner of its group. Its body,
// earlier bodies, reactions, mentions and waiting events go in the same
// transaction. Deleting a tombstone again changes nothing.
func (s *Service) Delete(ctx context.Context, me Actor, convID, seq int64) error {
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		var m store.Message
		var err error
		if me.User.Role == SiteAdmin {
			// a site admin deletes any message, read or not (a report's)
			m, err = q.LockMessage(ctx, store.LockMessageParams{ConversationID: convID, Seq: seq})
		} else {
			m, _, err = readable(ctx, q, me, convID, seq, true)
		}
		if err != nil || m.Deleted {
			return err
		}
		if m.SenderID != me.ID() {
			if me.User.Role != SiteAdmin {
				sc, err := q.GetSendContext(ctx, store.GetSendContextParams{ConversationID: convID, UserID: me.ID()})
				if err != nil {
					return err
				}
				if sc.Kind != "channel" || (sc.Role != RoleAdmin && sc.Role != RoleOwner) {
					return NewError(CodeForbidden, "Only its sender, an admin of its group in a channel, or a site admin may delete a message.")
				}
			}
			if err := s.audit(ctx, q, me, "message.delete", "conversation:"+itoa(convID)+" seq:"+itoa(seq)+" sender:"+itoa(m.SenderID)); err != nil {
				return err
			}
		}
		if err := q.EraseMessage(ctx, m.ID); err != nil {
			return err
		}
		if err := q.DropMessageFiles(ctx, &m.ID); err != nil {
			return err
		}
		if m, err = q.TombstoneMessage(ctx, m.ID); err != nil {
			return err
		}
		_, err = updated(ctx, q, ob, m)
		return err
	})
	if err == nil {
		s.filesWork.deleted() // committed: the bytes go too
	}
	return err
}

// React adds (on) or removes the actor's emoji on a message: one per user
// and emoji, at most maxReactions distinct emoji on a message, none on a
// tombstone.
func (s *Service) React(ctx context.Context, me Actor, convID, seq int64, emoji string, on bool) error {
	if !isEmoji(emoji) {
		return Validation("emoji", "That is not one emoji.")
	}
	return s.change(ctx, func(q *store.Queries, ob *outbox) error {
		m, _, err := readable(ctx, q, me, convID, seq, true)
		if err != nil {
			return err
		}
		var n int64
		switch {
		case m.Deleted && on:
			return errDeleted
		case on:
			have, err := q.ListMessageEmoji(ctx, m.ID)
			if err != nil {
				return err
			}
			if len(have) >= maxReactions && !slices.Contains(have, emoji) {
				return Conflict("A message takes at most 20 different emoji.")
			}
			n, err = q.AddReaction(ctx, store.AddReactionParams{MessageID: m.ID, Emoji: emoji, UserID: me.ID()})
			if err != nil {
				return err
			}
		default:
			if n, err = q.RemoveReaction(ctx, store.RemoveReactionParams{MessageID: m.ID, Emoji: emoji, UserID: me.ID()}); err != nil {
				return err
			}
		}
		if n == 0 {
			return nil // already so: no new version
		}
		return bump(ctx, q, ob, m.ID)
	})
}

// cursorXmin is the xmin of a snapshot in the database's text form.
func cursorXmin(snap string) int64 {
	x, _, _ := strings.Cut(snap, ":")
	n, _ := parseXid(x)
	return int64(n)
}
