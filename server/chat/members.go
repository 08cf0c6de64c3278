package chat

import (
	"context"
	"slices"
	"strconv"

	"github.com/parleychat/parley/store"
)

// maxBulkAdd is how many users one request may add to a group.
const maxBulkAdd = 500

// ListMembers is a group's members, owner and admins first.
func (s *Service) ListMembers(ctx context.Context, me Actor, gid int64) ([]Member, error) {
	if _, err := s.requireRole(ctx, me, gid, RoleMember); err != nil {
		return nil, err
	}
	rows, err := s.db.ListGroupMembers(ctx, gid)
	if err != nil {
		return nil, err
	}
	out := make([]Member, len(rows))
	for i, m := range rows {
		out[i] = memberJSON(m.User, m.Role, m.JoinedAt)
	}
	return out, nil
}

// AddMember adds one user (admins; only the owner adds admins).
func (s *Service) AddMember(ctx context.Context, me Actor, gid, userID int64, role string) (Member, error) {
	if _, err := s.requireRole(ctx, me, gid, RoleAdmin); err != nil {
		return Member{}, err
	}
	if _, err := s.db.GetUser(ctx, userID); store.IsNotFound(err) {
		return Member{}, &Error{Code: CodeNotFound, Message: "No such user.", Field: "user_id"}
	} else if err != nil {
		return Member{}, err
	}
	added, err := s.AddMembers(ctx, me, gid, []int64{userID}, role)
	if err != nil {
		return Member{}, err
	}
	if len(added) == 0 {
		return Member{}, Conflict("Already a member of this group.")
	}
	return added[0], nil
}

// AddMembers adds up to maxBulkAdd users at once, in one transaction,
// skipping those already in the group; it returns those added. Its cost in
// queries and events does not grow with the group's size.
func (s *Service) AddMembers(ctx context.Context, me Actor, gid int64, userIDs []int64, role string) ([]Member, error) {
	myRole, err := s.requireRole(ctx, me, gid, RoleAdmin)
	if err != nil {
		return nil, err
	}
	if role == "" {
		role = RoleMember
	}
	if role != RoleMember && role != RoleAdmin {
		return nil, Validation("role", "role is admin or member.")
	}
	if role == RoleAdmin && myRole != RoleOwner {
		return nil, ErrForbidden
	}
	ids := slices.Clone(userIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 || len(ids) > maxBulkAdd {
		return nil, Validation("user_ids", "Add 1 to "+strconv.Itoa(maxBulkAdd)+" users at once.")
	}
	if n, err := s.db.CountExistingUsers(ctx, ids); err != nil {
		return nil, err
	} else if int(n) != len(ids) || ids[0] <= 0 {
		return nil, Validation("user_ids", "Some of these users do not exist.")
	}
	var added []Member
	err = s.change(ctx, func(q *store.Queries, ob *outbox) error {
		joined, err := s.join(ctx, q, ob, gid, ids, role)
		if err != nil || len(joined) == 0 {
			added = nil
			return err
		}
		rows, err := q.ListGroupMembersByID(ctx, store.ListGroupMembersByIDParams{GroupID: gid, UserIds: joined})
		if err != nil {
			return err
		}
		added = make([]Member, len(rows))
		for i, m := range rows {
			added[i] = memberJSON(m.User, m.Role, m.JoinedAt)
		}
		return nil
	})
	return added, err
}

// join adds users to a group and all its channels inside q, and tells
// them and the other members; it returns who was added.
func (s *Service) join(ctx context.Context, q *store.Queries, ob *outbox, gid int64, ids []int64, role string) ([]int64, error) {
	joined, err := q.AddGroupMembers(ctx, store.AddGroupMembersParams{GroupID: gid, UserIds: ids, Role: role})
	if err != nil || len(joined) == 0 {
		return nil, err
	}
	if err := q.JoinGroupChannels(ctx, store.JoinGroupChannelsParams{GroupID: gid, UserIds: joined}); err != nil {
		return nil, err
	}
	if err := viewEvents(ctx, q, ob, gid, joined); err != nil {
		return nil, err
	}
	return joined, groupChanged(ctx, q, ob, gid)
}

// SetRole makes a member an admin or a member (admins; only the owner
// makes or unmakes admins).
func (s *Service) SetRole(ctx context.Context, me Actor, gid, target int64, newRole string) (Member, error) {
	myRole, err := s.requireRole(ctx, me, gid, RoleAdmin)
	if err != nil {
		return Member{}, err
	}
	if newRole != RoleMember && newRole != RoleAdmin {
		return Member{}, Validation("role", "role is admin or member; to hand over the group, use transfer.")
	}
	current, err := role(ctx, s.db.Queries, gid, target)
	if err != nil {
		return Member{}, err
	}
	switch {
	case current == RoleOwner:
		return Member{}, Conflict("The owner's role changes only by transferring ownership.")
	case (current == RoleAdmin || newRole == RoleAdmin) && myRole != RoleOwner:
		return Member{}, ErrForbidden // only the owner makes or unmakes admins
	}
	err = s.change(ctx, func(q *store.Queries, ob *outbox) error {
		if _, err := q.SetGroupRole(ctx, store.SetGroupRoleParams{GroupID: gid, UserID: target, Role: newRole}); err != nil {
			return err
		}
		if err := viewEvents(ctx, q, ob, gid, []int64{target}); err != nil {
			return err
		}
		return groupChanged(ctx, q, ob, gid)
	})
	if err != nil {
		return Member{}, err
	}
	m, err := s.db.GetGroupMember(ctx, store.GetGroupMemberParams{GroupID: gid, UserID: target})
	if err != nil {
		return Member{}, err
	}
	return memberJSON(m.User, m.Role, m.JoinedAt), nil
}

// RemoveMember removes a member (admins) or leaves (oneself). From that
// moment the user's sockets stop getting the group's events and every
// group endpoint answers them 404.
func (s *Service) RemoveMember(ctx context.Context, me Actor, gid, target int64) error {
	myRole, err := role(ctx, s.db.Queries, gid, me.ID())
	if err != nil {
		return err
	}
	targetRole, err := role(ctx, s.db.Queries, gid, target)
	if err != nil {
		return err
	}
	switch {
	case targetRole == RoleOwner && target == me.ID():
		return Conflict("The owner leaves only after transferring ownership, or by deleting the group.")
	case targetRole == RoleOwner:
		return Conflict("The owner cannot be removed.")
	case target == me.ID():
	case roleRank[myRole] < roleRank[RoleAdmin]:
		return ErrForbidden
	case targetRole == RoleAdmin && myRole != RoleOwner:
		return ErrForbidden
	}
	return s.change(ctx, func(q *store.Queries, ob *outbox) error {
		n, err := q.RemoveGroupMember(ctx, store.RemoveGroupMemberParams{GroupID: gid, UserID: target})
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound // removed concurrently
		}
		channels, err := q.LeaveGroupChannels(ctx, store.LeaveGroupChannelsParams{GroupID: gid, UserID: target})
		if err != nil {
			return err
		}
		users := make([]int64, len(channels))
		for i := range users {
			users[i] = target
		}
		if err := q.AddRemovals(ctx, store.AddRemovalsParams{UserIds: users, ConversationIds: channels}); err != nil {
			return err
		}
		if err := q.AddGroupRemovals(ctx, store.AddGroupRemovalsParams{UserIds: []int64{target}, GroupID: gid}); err != nil {
			return err
		}
		leftEvents(ob, target, gid, channels)
		return groupChanged(ctx, q, ob, gid)
	})
}

// Transfer makes another member the owner; the owner becomes an admin.
func (s *Service) Transfer(ctx context.Context, me Actor, gid, to int64) (Group, error) {
	if _, err := s.requireRole(ctx, me, gid, RoleOwner); err != nil {
		return Group{}, err
	}
	if to == me.ID() {
		return Group{}, Validation("user_id", "You are already the owner.")
	}
	if _, err := role(ctx, s.db.Queries, gid, to); err != nil {
		return Group{}, Validation("user_id", "Ownership goes to a member of the group.")
	}
	err := s.change(ctx, func(q *store.Queries, ob *outbox) error {
		// one owner at a time: step down first
		if _, err := q.SetGroupRole(ctx, store.SetGroupRoleParams{GroupID: gid, UserID: me.ID(), Role: RoleAdmin}); err != nil {
			return err
		}
		if _, err := q.SetGroupRole(ctx, store.SetGroupRoleParams{GroupID: gid, UserID: to, Role: RoleOwner}); err != nil {
			return err
		}
		if err := viewEvents(ctx, q, ob, gid, []int64{me.ID(), to}); err != nil {
			return err
		}
		return groupChanged(ctx, q, ob, gid)
	})
	if err != nil {
		return Group{}, err
	}
	return s.GetGroup(ctx, me, gid)
}
