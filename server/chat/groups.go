package chat

import (
	"context"
	"slices"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// Group roles, strongest first.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

var roleRank = map[string]int{RoleOwner: 3, RoleAdmin: 2, RoleMember: 1}

// How a group change reaches its members, at a cost that does not grow
// with the group: one shared event on the group's topic for everyone
// (group.changed, and for a new or deleted channel its conversation.updated
// or conversation.removed, with the routing change for every member at
// once), plus a personal event only for the users whose own view changed
// (the added, removed or re-roled member: group.updated with their view).

// role returns userID's role in a group; a non-member gets 404, as if the
// group did not exist.
func role(ctx context.Context, q *store.Queries, groupID, userID int64) (string, error) {
	r, err := q.GetGroupRole(ctx, store.GetGroupRoleParams{GroupID: groupID, UserID: userID})
	if store.IsNotFound(err) {
		return "", ErrNotFound
	}
	return r, err
}

// requireRole checks the actor is a member with at least role least.
func (s *Service) requireRole(ctx context.Context, me Actor, gid int64, least string) (string, error) {
	r, err := role(ctx, s.db.Queries, gid, me.ID())
	if err != nil {
		return "", err
	}
	if roleRank[r] < roleRank[least] {
		return "", ErrForbidden
	}
	return r, nil
}

// groups returns userID's groups (one with groupID, or those changed since
// a cursor) with their channels: two queries, whatever the count, and the
// second reads only those groups' channels.
func groups(ctx context.Context, q *store.Queries, userID int64, groupID *int64, since *string) ([]Group, error) {
	rows, err := q.ListUserGroups(ctx, store.ListUserGroupsParams{UserID: userID, GroupID: groupID, Since: since})
	if err != nil || len(rows) == 0 {
		return []Group{}, err
	}
	ids := make([]int64, len(rows))
	for i, g := range rows {
		ids[i] = g.ID
	}
	convs, err := q.ListConversations(ctx, store.ListConversationsParams{UserID: userID, GroupIds: ids, IncludeHidden: true})
	if err != nil {
		return nil, err
	}
	channels := map[int64][]Conversation{}
	for _, c := range convs {
		if c.GroupID != nil {
			channels[*c.GroupID] = append(channels[*c.GroupID], conversationJSON(c))
		}
	}
	out := make([]Group, len(rows))
	for i, g := range rows {
		out[i] = Group{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt.UTC(),
			MyRole: g.MyRole, MemberCount: g.MemberCount, Channels: sortChannels(channels[g.ID])}
	}
	return out, nil
}

func sortChannels(chs []Conversation) []Conversation {
	if chs == nil {
		return []Conversation{}
	}
	slices.SortFunc(chs, func(a, b Conversation) int { return int(a.ID - b.ID) })
	return chs
}

func group(ctx context.Context, q *store.Queries, userID, groupID int64) (Group, error) {
	gs, err := groups(ctx, q, userID, &groupID, nil)
	if err != nil {
		return Group{}, err
	}
	if len(gs) == 0 {
		return Group{}, ErrNotFound
	}
	return gs[0], nil
}

// ListGroups is the actor's groups.
func (s *Service) ListGroups(ctx context.Context, me Actor) ([]Group, error) {
	return groups(ctx, s.db.Queries, me.ID(), nil, nil)
}

// GetGroup is one group as the actor sees it.
func (s *Service) GetGroup(ctx context.Context, me Actor, gid int64) (Group, error) {
	return group(ctx, s.db.Queries, me.ID(), gid)
}

// groupChanged ends every change to a group: it marks the group changed
// for /sync and tells every member its shared fields (group.changed), in
// two queries and one event whatever the group's size.
func groupChanged(ctx context.Context, q *store.Queries, ob *outbox, gid int64) error {
	if err := q.TouchGroup(ctx, gid); err != nil {
		return err
	}
	g, err := q.GetSharedGroup(ctx, gid)
	if err != nil {
		return err
	}
	chs, err := q.ListGroupChannels(ctx, gid)
	if err != nil {
		return err
	}
	shared := SharedGroup{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt.UTC(),
		MemberCount: g.MemberCount, Channels: make([]SharedChannel, len(chs))}
	for i, c := range chs {
		shared.Channels[i] = SharedChannel{ID: c.ID, Name: c.Name}
	}
	ob.add(event.Event{Topic: event.GroupTopic(gid), Frame: EncodeFrame(FrameGroupChanged, GroupChangedData{Group: shared})})
	return nil
}

// viewEvents adds group.updated with their own view for each of userIDs
// (members whose own view changed), routing the group and its channels to
// them: two queries for any number of them.
func viewEvents(ctx context.Context, q *store.Queries, ob *outbox, gid int64, userIDs []int64) error {
	if len(userIDs) == 0 {
		return nil
	}
	g, err := q.GetSharedGroup(ctx, gid)
	if err != nil {
		return err
	}
	convs, err := q.ListGroupConversations(ctx, store.ListGroupConversationsParams{GroupID: gid, MemberIds: userIDs})
	if err != nil {
		return err
	}
	roles, err := q.ListGroupRoles(ctx, store.ListGroupRolesParams{GroupID: gid, UserIds: userIDs})
	if err != nil {
		return err
	}
	byMember := map[int64][]Conversation{}
	for _, c := range convs {
		byMember[c.MemberID] = append(byMember[c.MemberID], conversationJSON(c))
	}
	for _, r := range roles {
		chs := sortChannels(byMember[r.UserID])
		ids, since := make([]int64, len(chs)), make([]int64, len(chs))
		for i, c := range chs {
			ids[i], since[i] = c.ID, c.LastSeq
		}
		view := Group{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt.UTC(),
			MyRole: r.Role, MemberCount: g.MemberCount, Channels: chs}
		ob.add(event.Event{Topic: event.UserTopic(r.UserID), Join: ids, Since: since, JoinGroups: []int64{gid},
			Frame: EncodeFrame(FrameGroupUpdated, GroupData{Group: view})})
	}
	return nil
}

// leftEvents tell a user who left or lost a group: their sockets stop
// routing its channels and its topic at once.
func leftEvents(ob *outbox, userID, groupID int64, channelIDs []int64) {
	for _, cid := range channelIDs {
		ob.add(event.Event{Topic: event.UserTopic(userID), Leave: []int64{cid},
			Frame: EncodeFrame(FrameConversationRemoved, ConversationRemovedData{ConversationID: cid})})
	}
	ob.add(event.Event{Topic: event.UserTopic(userID), Leave: channelIDs, LeaveGroups: []int64{groupID},
		Frame: EncodeFrame(FrameGroupRemoved, GroupRemovedData{GroupID: groupID})})
}

// GroupInput is a group's name and description; nil leaves one as it is.
type GroupInput struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
}

// CreateGroup makes a group with one channel, general; the actor owns it.
func (s *Service) CreateGroup(ctx context.Context, me Actor, name, description string) (Group, error) {
	name, err := normalizeGroupName(name)
	if err != nil {
		return Group{}, err
	}
	desc, err := normalizeDescription(description)
	if err != nil {
		return Group{}, err
	}
	var view Group
	err = s.change(ctx, func(q *store.Queries, ob *outbox) error {
		g, err := q.CreateGroup(ctx, store.CreateGroupParams{Name: name, Description: desc})
		if err != nil {
			return err
		}
		if _, err := q.AddGroupMembers(ctx, store.AddGroupMembersParams{GroupID: g.ID, UserIds: []int64{me.ID()}, Role: RoleOwner}); err != nil {
			return err
		}
		cid, err := q.CreateChannel(ctx, store.CreateChannelParams{GroupID: &g.ID, Name: "general"})
		if err != nil {
			return err
		}
		if err := q.AddChannelMembers(ctx, store.AddChannelMembersParams{ConversationID: cid, GroupID: g.ID}); err != nil {
			return err
		}
		if err := viewEvents(ctx, q, ob, g.ID, []int64{me.ID()}); err != nil {
			return err
		}
		view, err = group(ctx, q, me.ID(), g.ID)
		return err
	})
	return view, err
}

// UpdateGroup renames a group or changes its description (admins).
func (s *Service) UpdateGroup(ctx context.Context, me Actor, gid int64, in GroupInput) (Group, error) {
	if _, err := s.requireRole(ctx, me, gid, RoleAdmin); err != nil {
		return Group{}, err
	}
	p := store.UpdateGroupParams{ID: gid}
	if in.Name != nil {
		name, err := normalizeGroupName(*in.Name)
		if err != nil {
			return Group{}, err
		}
		p.Name = &name
	}
	if in.Description != nil {
		desc, err := normalizeDescription(*in.Description)
		if err != nil {
			return Group{}, err
		}
		p.Description = &desc
	}
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		if _, err := q.UpdateGroup(ctx, p); err != nil {
			return err
		}
		return groupChanged(ctx, q, ob, gid)
	})
	if err != nil {
		return Group{}, err
	}
	return s.GetGroup(ctx, me, gid)
}

// DeleteGroup removes the group and everything in it, for everyone (the
// owner).
func (s *Service) DeleteGroup(ctx context.Context, me Actor, gid int64) error {
	if _, err := s.requireRole(ctx, me, gid, RoleOwner); err != nil {
		return err
	}
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		members, err := q.ListGroupMemberIDs(ctx, gid)
		if err != nil {
			return err
		}
		channels, err := q.ListGroupChannelIDs(ctx, gid)
		if err != nil {
			return err
		}
		var p store.AddRemovalsParams
		for _, u := range members {
			for _, c := range channels {
				p.UserIds = append(p.UserIds, u)
				p.ConversationIds = append(p.ConversationIds, c)
			}
		}
		if err := q.AddRemovals(ctx, p); err != nil {
			return err
		}
		if err := q.AddGroupRemovals(ctx, store.AddGroupRemovalsParams{UserIds: members, GroupID: gid}); err != nil {
			return err
		}
		if err := s.audit(ctx, q, me, "group.delete", "group:"+itoa(gid)); err != nil {
			return err
		}
		// one shared event per channel and one for the group, to everyone
		for _, cid := range channels {
			ob.add(event.Event{Topic: event.GroupTopic(gid), Leave: []int64{cid},
				Frame: EncodeFrame(FrameConversationRemoved, ConversationRemovedData{ConversationID: cid})})
		}
		ob.add(event.Event{Topic: event.GroupTopic(gid), Leave: channels, LeaveGroups: []int64{gid},
			Frame: EncodeFrame(FrameGroupRemoved, GroupRemovedData{GroupID: gid})})
		return q.DeleteGroup(ctx, gid)
	})
	if err == nil {
		s.filesWork.deleted() // its messages' files went with it: their bytes go now
	}
	return err
}
