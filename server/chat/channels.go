package chat

import (
	"context"
	"slices"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// CreateChannel adds a channel to a group (admins); every member is in it.
func (s *Service) CreateChannel(ctx context.Context, me Actor, gid int64, name string) (Conversation, error) {
	if _, err := s.requireRole(ctx, me, gid, RoleAdmin); err != nil {
		return Conversation{}, err
	}
	name, err := normalizeChannelName(name)
	if err != nil {
		return Conversation{}, err
	}
	var c Conversation
	err = s.change(ctx, func(q *store.Queries, ob *outbox) error {
		cid, err := q.CreateChannel(ctx, store.CreateChannelParams{GroupID: &gid, Name: name})
		if err != nil {
			return err
		}
		if err := q.AddChannelMembers(ctx, store.AddChannelMembersParams{ConversationID: cid, GroupID: gid}); err != nil {
			return err
		}
		// a new channel looks the same to every member: one shared event
		// that also routes it to all of them
		if c, err = conversationQ(ctx, q, me.ID(), cid); err != nil {
			return err
		}
		ob.add(event.Event{Topic: event.GroupTopic(gid), Join: []int64{cid},
			Frame: EncodeFrame(FrameConversationUpdated, ConversationData{Conversation: c})})
		return groupChanged(ctx, q, ob, gid)
	})
	if store.IsConflict(err) {
		err = errChannelTaken
	}
	return c, err
}

// RenameChannel renames a channel (admins). Members learn the new name
// from group.changed; each one's counts and flags are untouched.
func (s *Service) RenameChannel(ctx context.Context, me Actor, gid, cid int64, name string) (Conversation, error) {
	if _, err := s.requireRole(ctx, me, gid, RoleAdmin); err != nil {
		return Conversation{}, err
	}
	name, err := normalizeChannelName(name)
	if err != nil {
		return Conversation{}, err
	}
	err = s.change(ctx, func(q *store.Queries, ob *outbox) error {
		n, err := q.RenameChannel(ctx, store.RenameChannelParams{GroupID: &gid, ID: cid, Name: name})
		if err == nil && n == 0 {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return groupChanged(ctx, q, ob, gid)
	})
	if store.IsConflict(err) {
		err = errChannelTaken
	}
	if err != nil {
		return Conversation{}, err
	}
	return s.GetConversation(ctx, me, cid)
}

// DeleteChannel deletes a channel and its messages (admins); a group
// keeps at least one.
func (s *Service) DeleteChannel(ctx context.Context, me Actor, gid, cid int64) error {
	if _, err := s.requireRole(ctx, me, gid, RoleAdmin); err != nil {
		return err
	}
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		channels, err := q.ListGroupChannelIDs(ctx, gid)
		if err != nil {
			return err
		}
		if !slices.Contains(channels, cid) {
			return ErrNotFound
		}
		if len(channels) == 1 {
			return Conflict("A group keeps at least one channel; delete the group instead.")
		}
		members, err := q.ListMemberIDs(ctx, cid)
		if err != nil {
			return err
		}
		convs := make([]int64, len(members))
		for i := range convs {
			convs[i] = cid
		}
		if err := q.AddRemovals(ctx, store.AddRemovalsParams{UserIds: members, ConversationIds: convs}); err != nil {
			return err
		}
		if _, err := q.DeleteChannel(ctx, store.DeleteChannelParams{GroupID: &gid, ID: cid}); err != nil {
			return err
		}
		ob.add(event.Event{Topic: event.GroupTopic(gid), Leave: []int64{cid},
			Frame: EncodeFrame(FrameConversationRemoved, ConversationRemovedData{ConversationID: cid})})
		return groupChanged(ctx, q, ob, gid)
	})
	if err == nil {
		s.filesWork.deleted() // its messages' files went with it: their bytes go now
	}
	return err
}
