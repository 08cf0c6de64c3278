package chat

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/store"
)

// Site administration (docs/protocol.md, Administration): roles, the
// users list with deactivation, reports of messages, and the audit log.
// Every use case here but Report is for site admins only.

// Site roles.
const (
	SiteAdmin  = "admin"
	SiteMember = "member"
)

// DefaultAuditRetention is how long audit entries are kept
// (PARLEY_AUDIT_DAYS).
const DefaultAuditRetention = 365 * 24 * time.Hour

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func requireAdmin(me Actor) error {
	if me.User.Role != SiteAdmin {
		return NewError(CodeForbidden, "Only a site admin may do that.")
	}
	return nil
}

// audit records a security-relevant action in the transaction that does
// it, and logs it as a structured line.
func (s *Service) audit(ctx context.Context, q *store.Queries, me Actor, action, target string) error {
	var actor *int64
	if me.User.ID != 0 {
		actor = &me.User.ID
	}
	return s.auditAs(ctx, q, actor, me.Address, action, target)
}

func (s *Service) auditAs(ctx context.Context, q *store.Queries, actor *int64, address, action, target string) error {
	if err := q.AddAudit(ctx, store.AddAuditParams{ActorID: actor, Action: action, Target: target, Address: address}); err != nil {
		return err
	}
	attrs := []any{"action", action, "target", target, "address", address}
	if actor != nil {
		attrs = append(attrs, "actor_id", *actor)
	}
	s.log.Info("audit", attrs...)
	return nil
}

// auditNow records an action that was its own statement, already
// committed; an entry that cannot be written is logged as a warning.
func (s *Service) auditNow(ctx context.Context, me Actor, action, target string) {
	if err := s.audit(context.WithoutCancel(ctx), s.db.Queries, me, action, target); err != nil {
		s.log.Warn("audit entry not written", "action", action, "target", target, "err", err)
	}
}

// PurgeAudit drops the audit entries older than the retention.
func (s *Service) PurgeAudit(ctx context.Context) (int64, error) {
	return s.db.PurgeAudit(ctx, time.Now().Add(-s.auditKeep))
}

// UsersPage is GET /admin/users.
type UsersPage struct {
	Users   []User `json:"users"`
	HasMore bool   `json:"has_more"`
}

// AdminUsers lists every account (bots and the deactivated too) whose
// username or display name starts with q, by id after after.
func (s *Service) AdminUsers(ctx context.Context, me Actor, q string, limit, after int64) (UsersPage, error) {
	if err := requireAdmin(me); err != nil {
		return UsersPage{}, err
	}
	if limit == 0 {
		limit = 50
	}
	if limit < 1 || limit > 200 {
		return UsersPage{}, Validation("limit", "limit is 1 to 200.")
	}
	q = strings.ToLower(strings.TrimSpace(q))
	if utf8.RuneCountInString(q) > 64 {
		return UsersPage{}, Validation("q", "q is at most 64 characters.")
	}
	// the display name by LIKE, its wildcards escaped; the username by range
	pattern := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q) + "%"
	rows, err := s.db.AdminListUsers(ctx, store.AdminListUsersParams{After: after, Prefix: q, Pattern: pattern, Lim: int32(limit + 1)})
	if err != nil {
		return UsersPage{}, err
	}
	page := UsersPage{Users: make([]User, 0, len(rows)), HasMore: int64(len(rows)) > limit}
	for i, r := range rows {
		if int64(i) == limit {
			break
		}
		page.Users = append(page.Users, userJSON(r))
	}
	return page, nil
}

// AdminUserInput is PATCH /admin/users/{id}.
type AdminUserInput struct {
	Role        *string `json:"role"`
	Deactivated *bool   `json:"deactivated"`
}

// AdminUpdateUser changes a user's role or deactivates (or reactivates)
// them. Deactivating ends their sessions, their bots' too, and closes
// their sockets at once; the last active admin stays one.
func (s *Service) AdminUpdateUser(ctx context.Context, me Actor, id int64, in AdminUserInput) (User, error) {
	if err := requireAdmin(me); err != nil {
		return User{}, err
	}
	if in.Role != nil && *in.Role != SiteAdmin && *in.Role != SiteMember {
		return User{}, Validation("role", `role is "admin" or "member".`)
	}
	var user store.User
	var ended []store.DeleteSessionsOfRow
	err := s.db.InTx(ctx, func(q *store.Queries) error {
		ended = nil
		admins, err := q.LockActiveAdmins(ctx)
		if err != nil {
			return err
		}
		if user, err = q.GetUser(ctx, id); err != nil {
			return err
		}
		demote := in.Role != nil && *in.Role == SiteMember && user.Role == SiteAdmin
		deactivate := in.Deactivated != nil && *in.Deactivated && user.DeactivatedAt == nil
		if (demote || deactivate) && slices.Equal(admins, []int64{id}) {
			return Conflict("This is the last active admin; make another admin first.")
		}
		if in.Role != nil && *in.Role != user.Role {
			if user.Bot {
				return Validation("role", "A bot has no site role.")
			}
			if user, err = q.SetUserRole(ctx, store.SetUserRoleParams{ID: id, Role: *in.Role}); err != nil {
				return err
			}
			if err := s.audit(ctx, q, me, "user.role", "user:"+itoa(id)+" role:"+*in.Role); err != nil {
				return err
			}
		}
		if in.Deactivated != nil && *in.Deactivated != (user.DeactivatedAt != nil) {
			if *in.Deactivated {
				off, err := q.DeactivateUser(ctx, id)
				if err != nil {
					return err
				}
				if ended, err = q.DeleteSessionsOf(ctx, off); err != nil {
					return err
				}
				if err := s.audit(ctx, q, me, "user.deactivate", "user:"+itoa(id)); err != nil {
					return err
				}
			} else {
				if user.Bot {
					return Validation("deactivated", "A bot is reactivated by making a new one.")
				}
				if _, err := q.ReactivateUser(ctx, id); err != nil {
					return err
				}
				if err := s.audit(ctx, q, me, "user.reactivate", "user:"+itoa(id)); err != nil {
					return err
				}
			}
			user, err = q.GetUser(ctx, id)
			return err
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	if in.Role != nil {
		s.forgetUsers(ctx, id) // a session of theirs grants what the role does
	}
	byUser := map[int64][]int64{}
	for _, e := range ended {
		byUser[e.UserID] = append(byUser[e.UserID], e.ID)
	}
	for uid, ids := range byUser {
		s.endSessions(ctx, uid, ids)
	}
	return userJSON(user), nil
}

// SetRole is `parley user set-role`: no actor, so no last-admin check but
// one: the install keeps an active admin.
func (a *Accounts) SetRole(ctx context.Context, username, role string) error {
	if role != SiteAdmin && role != SiteMember {
		return Validation("role", `role is "admin" or "member".`)
	}
	return a.DB.InTx(ctx, func(q *store.Queries) error {
		admins, err := q.LockActiveAdmins(ctx)
		if err != nil {
			return err
		}
		u, err := q.SetUserRoleByName(ctx, store.SetUserRoleByNameParams{Username: strings.ToLower(username), Role: role})
		if store.IsNotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return err
		}
		if role == SiteMember && slices.Equal(admins, []int64{u.ID}) {
			return Conflict("This is the last active admin; make another admin first.")
		}
		return q.AddAudit(ctx, store.AddAuditParams{Action: "user.role", Target: "user:" + itoa(u.ID) + " role:" + role, Address: "cli"})
	})
}

// Report is a member's report of a message, as admins see it: the
// message, and the messages around it (two before, two after).
type Report struct {
	ID             int64     `json:"id"`
	Message        Message   `json:"message"`
	Context        []Message `json:"context"`
	ConversationID int64     `json:"conversation_id"`
	Reporter       User      `json:"reporter"`
	ReporterID     int64     `json:"reporter_id"`
	SenderID       int64     `json:"sender_id"`
	Reason         string    `json:"reason"`
	CreatedAt      time.Time `json:"created_at"`
	Resolved       bool      `json:"resolved"`
}

// ReportMessage records a member's report of a message they can read
// (again, for a second report by the same member: the reason is replaced
// and the report reopened).
func (s *Service) ReportMessage(ctx context.Context, me Actor, convID, seq int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if n := utf8.RuneCountInString(reason); n < 1 || n > 1000 {
		return Validation("reason", "A reason is 1 to 1000 characters.")
	}
	return s.db.InTx(ctx, func(q *store.Queries) error {
		m, _, err := readable(ctx, q, me, convID, seq, false)
		if err != nil {
			return err
		}
		if m.Deleted {
			return errDeleted
		}
		if m.SenderID == me.ID() {
			return Validation("seq", "You cannot report your own message.")
		}
		_, err = q.CreateReport(ctx, store.CreateReportParams{MessageID: m.ID, ConversationID: convID, Seq: seq,
			ReporterID: me.ID(), Reason: reason})
		return err
	})
}

// Reports lists the reports (open ones only, unless all), newest first,
// 100 at a time before the id before (0: the newest), each with the
// messages around it; users are everyone they name.
func (s *Service) Reports(ctx context.Context, me Actor, all bool, before int64) (ReportsPage, error) {
	if err := requireAdmin(me); err != nil {
		return ReportsPage{}, err
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.db.ListReports(ctx, store.ListReportsParams{IncludeResolved: all, Before: before})
	if err != nil {
		return ReportsPage{}, err
	}
	const limit = 100
	more := len(rows) > limit
	if more {
		rows = rows[:limit]
	}
	var around store.ListReportContextParams
	for _, r := range rows {
		around.ConversationIds = append(around.ConversationIds, r.Report.ConversationID)
		around.Seqs = append(around.Seqs, r.Report.Seq)
	}
	near, err := s.db.ListReportContext(ctx, around)
	if err != nil {
		return ReportsPage{}, err
	}
	full, err := hydrate(ctx, s.db.Queries, near)
	if err != nil {
		return ReportsPage{}, err
	}
	byConv := map[int64][]Message{}
	ids := []int64{}
	for _, m := range full {
		byConv[m.ConversationID] = append(byConv[m.ConversationID], m)
		ids = append(ids, m.SenderID)
	}
	for _, ms := range byConv {
		slices.SortFunc(ms, func(a, b Message) int { return int(a.Seq - b.Seq) })
	}
	out := make([]Report, len(rows))
	for i, r := range rows {
		rp := Report{ID: r.Report.ID, ConversationID: r.Report.ConversationID, Reason: r.Report.Reason,
			ReporterID: r.Report.ReporterID, SenderID: r.Message.SenderID,
			CreatedAt: r.Report.CreatedAt.UTC(), Resolved: r.Report.ResolvedAt != nil, Context: []Message{}}
		for _, m := range byConv[rp.ConversationID] {
			if m.Seq == r.Report.Seq {
				rp.Message = m
			}
			if m.Seq >= r.Report.Seq-2 && m.Seq <= r.Report.Seq+2 {
				rp.Context = append(rp.Context, m)
			}
		}
		ids = append(ids, r.Report.ReporterID)
		out[i] = rp
	}
	users, err := s.db.GetUsersByID(ctx, ids)
	if err != nil {
		return ReportsPage{}, err
	}
	page := ReportsPage{Reports: out, Users: make([]User, len(users)), HasMore: more}
	byID := map[int64]User{}
	for i, u := range users {
		page.Users[i] = userJSON(u)
		byID[u.ID] = page.Users[i]
	}
	for i := range out {
		out[i].Reporter = byID[out[i].ReporterID]
	}
	return page, nil
}

// ReportsPage is GET /admin/reports: the reports, everyone they name, and
// whether older ones remain.
type ReportsPage struct {
	Reports []Report `json:"reports"`
	Users   []User   `json:"users"`
	HasMore bool     `json:"has_more"`
}

// ResolveReport marks a report resolved (or open again).
func (s *Service) ResolveReport(ctx context.Context, me Actor, id int64, resolved bool) error {
	if err := requireAdmin(me); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(q *store.Queries) error {
		if _, err := q.ResolveReport(ctx, store.ResolveReportParams{ID: id, Resolved: resolved, By: me.ID()}); err != nil {
			return err
		}
		if !resolved {
			return nil
		}
		return s.audit(ctx, q, me, "report.resolve", "report:"+itoa(id))
	})
}

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	ActorID *int64    `json:"actor_id"`
	// Actor is the actor's username (null: none, or a deleted account)
	Actor   *string `json:"actor"`
	Action  string  `json:"action"`
	Target  string  `json:"target"`
	Address string  `json:"address"`
}

// AuditPage is GET /admin/audit.
type AuditPage struct {
	Entries []AuditEntry `json:"entries"`
	HasMore bool         `json:"has_more"`
}

// Audit lists the audit log 100 at a time: newest first before the id
// before (0: the newest), or, given after, oldest first after it (to
// follow the log).
func (s *Service) Audit(ctx context.Context, me Actor, before, after int64) (AuditPage, error) {
	if err := requireAdmin(me); err != nil {
		return AuditPage{}, err
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	const limit = 100
	var rows []store.ListAuditRow
	var err error
	if after > 0 {
		var up []store.ListAuditAfterRow
		up, err = s.db.ListAuditAfter(ctx, store.ListAuditAfterParams{After: after, Lim: limit + 1})
		for _, r := range up {
			rows = append(rows, store.ListAuditRow(r))
		}
	} else {
		rows, err = s.db.ListAudit(ctx, store.ListAuditParams{Before: before, Lim: limit + 1})
	}
	if err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Entries: make([]AuditEntry, 0, len(rows)), HasMore: len(rows) > limit}
	for i, r := range rows {
		if i == limit {
			break
		}
		page.Entries = append(page.Entries, AuditEntry{ID: r.ID, At: r.At.UTC(), ActorID: r.ActorID, Actor: r.ActorUsername,
			Action: r.Action, Target: r.Target, Address: r.Address})
	}
	return page, nil
}

// Facts are what an admin sees of the install.
type Facts struct {
	DatabaseBytes int64 `json:"database_bytes"`
	Users         int64 `json:"users"`
	Bots          int64 `json:"bots"`
	Groups        int64 `json:"groups"`
	Messages      int64 `json:"messages"`
	OpenReports   int64 `json:"open_reports"`
}

// ServerFacts counts the install's contents (admins).
func (s *Service) ServerFacts(ctx context.Context, me Actor) (Facts, error) {
	if err := requireAdmin(me); err != nil {
		return Facts{}, err
	}
	f, err := s.db.ServerFacts(ctx)
	return Facts(f), err
}
