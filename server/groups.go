package server

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/store"
)

// Group roles, strongest first.
const (
	roleOwner  = "owner"
	roleAdmin  = "admin"
	roleMember = "member"
)

var roleRank = map[string]int{roleOwner: 3, roleAdmin: 2, roleMember: 1}

// Group is the protocol's Group, as one member sees it.
type Group struct {
	ID          int64          `json:"id"`
	Name        string         `json:"name"`
	Description string         `json:"description"`
	CreatedAt   time.Time      `json:"created_at"`
	MyRole      string         `json:"my_role"`
	MemberCount int64          `json:"member_count"`
	Channels    []Conversation `json:"channels"`
}

// Member is the protocol's group Member.
type Member struct {
	User     User      `json:"user"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

var (
	errForbidden  = newError(http.StatusForbidden, "forbidden", "Your role in this group does not allow that.")
	errInviteGone = newError(http.StatusGone, "invite_gone", "This invite has expired, been used up, or been revoked.")
)

var errChannelTaken = &Error{Status: http.StatusConflict, Code: "conflict", Message: "The group already has a channel of that name.", Field: "name"}

func conflict(msg string) *Error { return newError(http.StatusConflict, "conflict", msg) }

// groupRole returns the caller's role; a non-member gets 404, as if the
// group did not exist.
func (s *Server) groupRole(ctx context.Context, groupID, userID int64) (string, error) {
	role, err := s.opts.DB.GetGroupRole(ctx, store.GetGroupRoleParams{GroupID: groupID, UserID: userID})
	if store.IsNotFound(err) {
		return "", errNotFound
	}
	return role, err
}

// requireRole checks the caller is a member with at least role min.
func (s *Server) requireRole(r *http.Request, min string) (int64, string, error) {
	gid, err := pathID(r, "id")
	if err != nil {
		return 0, "", err
	}
	role, err := s.groupRole(r.Context(), gid, caller(r.Context()).User.ID)
	if err != nil {
		return 0, "", err
	}
	if roleRank[role] < roleRank[min] {
		return 0, "", errForbidden
	}
	return gid, role, nil
}

func normalizeGroupName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > 64 || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", validation("name", "A group name is 1 to 64 characters.")
	}
	return s, nil
}

func normalizeDescription(s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 500 {
		return "", validation("description", "A description is at most 500 characters.")
	}
	return s, nil
}

// normalizeChannelName makes "Release Planning" into "release-planning":
// 1–32 lower-case letters, digits, - and _.
func normalizeChannelName(s string) (string, error) {
	s = strings.ToLower(strings.Join(strings.Fields(s), "-"))
	ok := utf8.RuneCountInString(s) >= 1 && utf8.RuneCountInString(s) <= 32
	for _, c := range s {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_') {
			ok = false
		}
	}
	if !ok {
		return "", validation("name", "A channel name is 1 to 32 letters, digits, - or _.")
	}
	return s, nil
}

// groups returns userID's groups (one with groupID, or those changed since
// a cursor) with their channels: two queries, whatever the count.
func (s *Server) groups(ctx context.Context, userID int64, groupID *int64, since *string) ([]Group, error) {
	rows, err := s.opts.DB.ListUserGroups(ctx, store.ListUserGroupsParams{UserID: userID, GroupID: groupID, Since: since})
	if err != nil || len(rows) == 0 {
		return []Group{}, err
	}
	convs, err := s.opts.DB.ListConversations(ctx, store.ListConversationsParams{UserID: userID, IncludeHidden: true})
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
		chs := channels[g.ID]
		if chs == nil {
			chs = []Conversation{}
		}
		sortChannels(chs)
		out[i] = Group{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt.UTC(),
			MyRole: g.MyRole, MemberCount: g.MemberCount, Channels: chs}
	}
	return out, nil
}

func sortChannels(chs []Conversation) {
	for i := 1; i < len(chs); i++ { // few channels: insertion sort by id
		for j := i; j > 0 && chs[j].ID < chs[j-1].ID; j-- {
			chs[j], chs[j-1] = chs[j-1], chs[j]
		}
	}
}

// respondGroup answers with userID's view of a group.
func (s *Server) respondGroup(w http.ResponseWriter, r *http.Request, status int, userID, groupID int64) {
	g, err := s.group(r.Context(), userID, groupID)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, status, groupData{Group: g})
}

func (s *Server) group(ctx context.Context, userID, groupID int64) (Group, error) {
	gs, err := s.groups(ctx, userID, &groupID, nil)
	if err != nil {
		return Group{}, err
	}
	if len(gs) == 0 {
		return Group{}, errNotFound
	}
	return gs[0], nil
}

// groupChanged marks a group changed for /sync and adds every member's new
// view of it to the outbox: the end of every change to a group.
func (s *Server) groupChanged(ctx context.Context, q *store.Queries, ob *outbox, gid int64) error {
	if err := q.TouchGroup(ctx, gid); err != nil {
		return err
	}
	return s.groupEvents(ctx, q, ob, gid)
}

// groupEvents adds, for every member, their view of the group
// (group.updated), routing all its channels to them: three queries for any
// group size.
func (s *Server) groupEvents(ctx context.Context, q *store.Queries, ob *outbox, groupID int64) error {
	members, err := q.ListGroupMembers(ctx, groupID)
	if err != nil || len(members) == 0 {
		return err
	}
	convs, err := q.ListGroupConversations(ctx, store.ListGroupConversationsParams{GroupID: groupID})
	if err != nil {
		return err
	}
	rows, err := q.ListUserGroups(ctx, store.ListUserGroupsParams{UserID: members[0].User.ID, GroupID: &groupID})
	if err != nil || len(rows) == 0 {
		return err
	}
	g := rows[0]
	byMember := map[int64][]Conversation{}
	var channelIDs []int64
	for _, c := range convs {
		byMember[c.MemberID] = append(byMember[c.MemberID], conversationJSON(c))
		if c.MemberID == members[0].User.ID {
			channelIDs = append(channelIDs, c.ID)
		}
	}
	for _, m := range members {
		chs := byMember[m.User.ID]
		if chs == nil {
			chs = []Conversation{}
		}
		sortChannels(chs)
		view := Group{ID: g.ID, Name: g.Name, Description: g.Description, CreatedAt: g.CreatedAt.UTC(),
			MyRole: m.Role, MemberCount: int64(len(members)), Channels: chs}
		ob.add(event.Event{Topic: event.UserTopic(m.User.ID), Join: channelIDs,
			Frame: encodeFrame(frameGroupUpdated, groupData{Group: view})})
	}
	return nil
}

type groupData struct {
	Group Group `json:"group"`
}

type groupRemovedData struct {
	GroupID int64 `json:"group_id"`
}

// leftEvents tell a user who left or lost a group (or some of its
// channels): their sockets stop routing those channels at once.
func leftEvents(ob *outbox, userID, groupID int64, channelIDs []int64, wholeGroup bool) {
	for _, cid := range channelIDs {
		ob.add(event.Event{Topic: event.UserTopic(userID), Leave: []int64{cid},
			Frame: encodeFrame(frameConversationRemoved, conversationRemovedData{ConversationID: cid})})
	}
	if wholeGroup {
		ob.add(event.Event{Topic: event.UserTopic(userID), Leave: channelIDs,
			Frame: encodeFrame(frameGroupRemoved, groupRemovedData{GroupID: groupID})})
	}
}

func memberJSON(u store.User, role string, joined time.Time) Member {
	return Member{User: userJSON(u), Role: role, JoinedAt: joined.UTC()}
}

// ---------- groups ----------

func (s *Server) handleCreateGroup(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	name, err := normalizeGroupName(in.Name)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	desc, err := normalizeDescription(in.Description)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	me := caller(r.Context()).User.ID
	var gid int64
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		g, err := q.CreateGroup(r.Context(), store.CreateGroupParams{Name: name, Description: desc})
		if err != nil {
			return err
		}
		gid = g.ID
		if _, err := q.AddGroupMember(r.Context(), store.AddGroupMemberParams{GroupID: g.ID, UserID: me, Role: roleOwner}); err != nil {
			return err
		}
		cid, err := q.CreateChannel(r.Context(), store.CreateChannelParams{GroupID: &g.ID, Name: "general"})
		if err != nil {
			return err
		}
		if err := q.AddChannelMembers(r.Context(), store.AddChannelMembersParams{ConversationID: cid, GroupID: g.ID}); err != nil {
			return err
		}
		return s.groupEvents(r.Context(), q, ob, g.ID)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondGroup(w, r, http.StatusCreated, me, gid)
}

func (s *Server) handleListGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := s.groups(r.Context(), caller(r.Context()).User.ID, nil, nil)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": gs})
}

func (s *Server) handleGetGroup(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondGroup(w, r, http.StatusOK, caller(r.Context()).User.ID, gid)
}

func (s *Server) handlePatchGroup(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleAdmin)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Name        *string `json:"name"`
		Description *string `json:"description"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	var p store.UpdateGroupParams
	p.ID = gid
	if in.Name != nil {
		name, err := normalizeGroupName(*in.Name)
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		p.Name = &name
	}
	if in.Description != nil {
		desc, err := normalizeDescription(*in.Description)
		if err != nil {
			s.respondError(w, r, err)
			return
		}
		p.Description = &desc
	}
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		if _, err := q.UpdateGroup(r.Context(), p); err != nil {
			return err
		}
		return s.groupEvents(r.Context(), q, ob, gid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondGroup(w, r, http.StatusOK, caller(r.Context()).User.ID, gid)
}

// handleDeleteGroup removes the group and everything in it, for everyone.
func (s *Server) handleDeleteGroup(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleOwner)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var members, channels []int64
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		var err error
		if members, err = q.ListGroupMemberIDs(r.Context(), gid); err != nil {
			return err
		}
		if channels, err = q.ListGroupChannelIDs(r.Context(), gid); err != nil {
			return err
		}
		var p store.AddRemovalsParams
		for _, u := range members {
			for _, c := range channels {
				p.UserIds = append(p.UserIds, u)
				p.ConversationIds = append(p.ConversationIds, c)
			}
		}
		if err := q.AddRemovals(r.Context(), p); err != nil {
			return err
		}
		if err := q.AddGroupRemovals(r.Context(), store.AddGroupRemovalsParams{UserIds: members, GroupID: gid}); err != nil {
			return err
		}
		for _, u := range members {
			leftEvents(ob, u, gid, channels, true)
		}
		return q.DeleteGroup(r.Context(), gid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---------- members ----------

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleMember)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	rows, err := s.opts.DB.ListGroupMembers(r.Context(), gid)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	out := make([]Member, len(rows))
	for i, m := range rows {
		out[i] = memberJSON(m.User, m.Role, m.JoinedAt)
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": out})
}

// joinGroup adds userID to the group and all its channels, inside q.
func joinGroup(ctx context.Context, q *store.Queries, gid, userID int64, role string) error {
	if _, err := q.AddGroupMember(ctx, store.AddGroupMemberParams{GroupID: gid, UserID: userID, Role: role}); err != nil {
		return err
	}
	joined, err := q.JoinGroupChannels(ctx, store.JoinGroupChannelsParams{UserID: userID, GroupID: gid})
	if err != nil {
		return err
	}
	if err := q.ClearRemovals(ctx, store.ClearRemovalsParams{UserID: userID, ConversationIds: joined}); err != nil {
		return err
	}
	if err := q.ClearGroupRemoval(ctx, store.ClearGroupRemovalParams{UserID: userID, GroupID: gid}); err != nil {
		return err
	}
	return q.TouchGroup(ctx, gid)
}

func (s *Server) handleAddMember(w http.ResponseWriter, r *http.Request) {
	gid, myRole, err := s.requireRole(r, roleAdmin)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		UserID int64  `json:"user_id"`
		Role   string `json:"role"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	if in.Role == "" {
		in.Role = roleMember
	}
	if in.Role != roleMember && in.Role != roleAdmin {
		s.respondError(w, r, validation("role", "role is admin or member."))
		return
	}
	if in.Role == roleAdmin && myRole != roleOwner {
		s.respondError(w, r, errForbidden)
		return
	}
	user, err := s.opts.DB.GetUser(r.Context(), in.UserID)
	if store.IsNotFound(err) {
		err = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such user.", Field: "user_id"}
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		if err := joinGroup(r.Context(), q, gid, user.ID, in.Role); err != nil {
			return err
		}
		return s.groupEvents(r.Context(), q, ob, gid)
	})
	if store.IsConflict(err) {
		err = conflict("Already a member of this group.")
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	m, err := s.opts.DB.GetGroupMember(r.Context(), store.GetGroupMemberParams{GroupID: gid, UserID: user.ID})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"member": memberJSON(m.User, m.Role, m.JoinedAt)})
}

func (s *Server) handlePatchMember(w http.ResponseWriter, r *http.Request) {
	gid, myRole, err := s.requireRole(r, roleAdmin)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	target, err := pathID(r, "user_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Role string `json:"role"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	if in.Role != roleMember && in.Role != roleAdmin {
		s.respondError(w, r, validation("role", "role is admin or member; to hand over the group, use transfer."))
		return
	}
	current, err := s.groupRole(r.Context(), gid, target)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	switch {
	case current == roleOwner:
		err = conflict("The owner's role changes only by transferring ownership.")
	case (current == roleAdmin || in.Role == roleAdmin) && myRole != roleOwner:
		err = errForbidden // only the owner makes or unmakes admins
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		if _, err := q.SetGroupRole(r.Context(), store.SetGroupRoleParams{GroupID: gid, UserID: target, Role: in.Role}); err != nil {
			return err
		}
		return s.groupChanged(r.Context(), q, ob, gid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	m, err := s.opts.DB.GetGroupMember(r.Context(), store.GetGroupMemberParams{GroupID: gid, UserID: target})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"member": memberJSON(m.User, m.Role, m.JoinedAt)})
}

// handleRemoveMember removes a member (admin) or leaves (oneself). From
// that moment the user's sockets stop getting the group's events and every
// group endpoint answers 404.
func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	gid, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	target, err := pathID(r, "user_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	me := caller(r.Context()).User.ID
	myRole, err := s.groupRole(r.Context(), gid, me)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	targetRole, err := s.groupRole(r.Context(), gid, target)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	switch {
	case targetRole == roleOwner && target == me:
		err = conflict("The owner leaves only after transferring ownership, or by deleting the group.")
	case targetRole == roleOwner:
		err = conflict("The owner cannot be removed.")
	case target == me:
	case roleRank[myRole] < roleRank[roleAdmin]:
		err = errForbidden
	case targetRole == roleAdmin && myRole != roleOwner:
		err = errForbidden
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var channels []int64
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		n, err := q.RemoveGroupMember(r.Context(), store.RemoveGroupMemberParams{GroupID: gid, UserID: target})
		if err != nil {
			return err
		}
		if n == 0 {
			return errNotFound // removed concurrently
		}
		if channels, err = q.LeaveGroupChannels(r.Context(), store.LeaveGroupChannelsParams{GroupID: gid, UserID: target}); err != nil {
			return err
		}
		users := make([]int64, len(channels))
		for i := range users {
			users[i] = target
		}
		if err := q.AddRemovals(r.Context(), store.AddRemovalsParams{UserIds: users, ConversationIds: channels}); err != nil {
			return err
		}
		if err := q.AddGroupRemovals(r.Context(), store.AddGroupRemovalsParams{UserIds: []int64{target}, GroupID: gid}); err != nil {
			return err
		}
		leftEvents(ob, target, gid, channels, true)
		return s.groupChanged(r.Context(), q, ob, gid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleOwner)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		UserID int64 `json:"user_id"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	me := caller(r.Context()).User.ID
	if in.UserID == me {
		s.respondError(w, r, validation("user_id", "You are already the owner."))
		return
	}
	if _, err := s.groupRole(r.Context(), gid, in.UserID); err != nil {
		s.respondError(w, r, validation("user_id", "Ownership goes to a member of the group."))
		return
	}
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		// one owner at a time: step down first
		if _, err := q.SetGroupRole(r.Context(), store.SetGroupRoleParams{GroupID: gid, UserID: me, Role: roleAdmin}); err != nil {
			return err
		}
		if _, err := q.SetGroupRole(r.Context(), store.SetGroupRoleParams{GroupID: gid, UserID: in.UserID, Role: roleOwner}); err != nil {
			return err
		}
		return s.groupChanged(r.Context(), q, ob, gid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondGroup(w, r, http.StatusOK, me, gid)
}

// ---------- channels ----------

func (s *Server) handleCreateChannel(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleAdmin)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	name, err := normalizeChannelName(in.Name)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var cid int64
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		var err error
		if cid, err = q.CreateChannel(r.Context(), store.CreateChannelParams{GroupID: &gid, Name: name}); err != nil {
			return err
		}
		if err := q.AddChannelMembers(r.Context(), store.AddChannelMembersParams{ConversationID: cid, GroupID: gid}); err != nil {
			return err
		}
		return s.groupChanged(r.Context(), q, ob, gid)
	})
	if store.IsConflict(err) {
		err = errChannelTaken
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondConversation(w, r, http.StatusCreated, caller(r.Context()).User.ID, cid)
}

func (s *Server) handleRenameChannel(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleAdmin)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	cid, err := pathID(r, "channel_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	name, err := normalizeChannelName(in.Name)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		n, err := q.RenameChannel(r.Context(), store.RenameChannelParams{GroupID: &gid, ID: cid, Name: name})
		if err == nil && n == 0 {
			return errNotFound
		}
		if err != nil {
			return err
		}
		if err := channelEvents(r.Context(), q, ob, gid, cid); err != nil {
			return err
		}
		return s.groupChanged(r.Context(), q, ob, gid)
	})
	if store.IsConflict(err) {
		err = errChannelTaken
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.respondConversation(w, r, http.StatusOK, caller(r.Context()).User.ID, cid)
}

// channelEvents adds, for every member, their view of one channel
// (conversation.updated), in one query.
func channelEvents(ctx context.Context, q *store.Queries, ob *outbox, gid, cid int64) error {
	rows, err := q.ListGroupConversations(ctx, store.ListGroupConversationsParams{GroupID: gid, ConversationID: &cid})
	if err != nil {
		return err
	}
	for _, row := range rows {
		ob.add(event.Event{Topic: event.UserTopic(row.MemberID), Join: []int64{cid},
			Frame: encodeFrame(frameConversationUpdated, conversationData{Conversation: conversationJSON(row)})})
	}
	return nil
}

func (s *Server) handleDeleteChannel(w http.ResponseWriter, r *http.Request) {
	gid, _, err := s.requireRole(r, roleAdmin)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	cid, err := pathID(r, "channel_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var members []int64
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		channels, err := q.ListGroupChannelIDs(r.Context(), gid)
		if err != nil {
			return err
		}
		found := false
		for _, c := range channels {
			found = found || c == cid
		}
		if !found {
			return errNotFound
		}
		if len(channels) == 1 {
			return conflict("A group keeps at least one channel; delete the group instead.")
		}
		if members, err = q.ListMemberIDs(r.Context(), cid); err != nil {
			return err
		}
		convs := make([]int64, len(members))
		for i := range convs {
			convs[i] = cid
		}
		if err := q.AddRemovals(r.Context(), store.AddRemovalsParams{UserIds: members, ConversationIds: convs}); err != nil {
			return err
		}
		if _, err := q.DeleteChannel(r.Context(), store.DeleteChannelParams{GroupID: &gid, ID: cid}); err != nil {
			return err
		}
		for _, u := range members {
			leftEvents(ob, u, gid, []int64{cid}, false)
		}
		return s.groupChanged(r.Context(), q, ob, gid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
