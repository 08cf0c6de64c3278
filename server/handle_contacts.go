package server

import (
	"context"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/parleychat/parley/store"
)

// Contact is the protocol's Contact.
type Contact struct {
	User      User      `json:"user"`
	Alias     *string   `json:"alias"`
	CreatedAt time.Time `json:"created_at"`
}

var errNoSuchUser = &Error{Status: http.StatusNotFound, Code: "not_found", Message: "No such user.", Field: "username"}

// normalizeAlias trims an alias; empty means none. 1–64 characters.
func normalizeAlias(a *string) (*string, error) {
	if a == nil {
		return nil, nil
	}
	v := strings.TrimSpace(*a)
	if v == "" {
		return nil, nil
	}
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 64 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return nil, validation("alias", "An alias is up to 64 characters of text.")
	}
	return &v, nil
}

func (s *Server) handleSearchUsers(w http.ResponseWriter, r *http.Request) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if n := utf8.RuneCountInString(q); n < 1 || n > 64 || !utf8.ValidString(q) || strings.ContainsRune(q, 0) {
		s.respondError(w, r, validation("q", "Search for 1 to 64 characters."))
		return
	}
	rows, err := s.opts.DB.SearchUsers(r.Context(), strings.ToLower(q))
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	out := make([]User, len(rows))
	for i, u := range rows {
		out[i] = userJSON(u)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out})
}

func (s *Server) handleListContacts(w http.ResponseWriter, r *http.Request) {
	rows, err := s.opts.DB.ListContacts(r.Context(), caller(r.Context()).User.ID)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	out := make([]Contact, len(rows))
	for i, row := range rows {
		out[i] = Contact{User: userJSON(row.User), Alias: row.Alias, CreatedAt: row.AddedAt.UTC()}
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": out})
}

func (s *Server) contact(r *http.Request, owner, user int64) (Contact, error) {
	row, err := s.opts.DB.GetContact(r.Context(), store.GetContactParams{OwnerID: owner, UserID: user})
	if err != nil {
		return Contact{}, err
	}
	return Contact{User: userJSON(row.User), Alias: row.Alias, CreatedAt: row.AddedAt.UTC()}, nil
}

func (s *Server) handleAddContact(w http.ResponseWriter, r *http.Request) {
	var in struct {
		UserID   int64   `json:"user_id"`
		Username string  `json:"username"`
		Alias    *string `json:"alias"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	alias, err := normalizeAlias(in.Alias)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	me := caller(r.Context()).User
	var target store.User
	switch {
	case in.UserID > 0:
		target, err = s.opts.DB.GetUser(r.Context(), in.UserID)
	case in.Username != "":
		var name string
		if name, err = normalizeUsername(strings.TrimSpace(in.Username)); err == nil {
			target, err = s.opts.DB.GetUserByUsername(r.Context(), name)
		} else {
			err = errNoSuchUser
		}
	default:
		err = validation("username", "Give user_id or username.")
	}
	if store.IsNotFound(err) {
		err = errNoSuchUser
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	if target.ID == me.ID {
		s.respondError(w, r, validation("username", "You cannot add yourself."))
		return
	}
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		if err := q.CreateContact(r.Context(), store.CreateContactParams{OwnerID: me.ID, UserID: target.ID, Alias: alias}); err != nil {
			return err
		}
		return s.directTitleChanged(r.Context(), q, ob, me.ID, target.ID)
	})
	if store.IsConflict(err) {
		err = &Error{Status: http.StatusConflict, Code: "conflict", Message: "Already in your contacts.", Field: "username"}
	}
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.contact(r, me.ID, target.ID)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"contact": c})
}

func (s *Server) handleUpdateContact(w http.ResponseWriter, r *http.Request) {
	uid, err := pathID(r, "user_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	var in struct {
		Alias *string `json:"alias"`
	}
	if err := decode(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	alias, err := normalizeAlias(in.Alias)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	me := caller(r.Context()).User.ID
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		n, err := q.UpdateContactAlias(r.Context(), store.UpdateContactAliasParams{OwnerID: me, UserID: uid, Alias: alias})
		if err == nil && n == 0 {
			return errNotFound
		}
		if err != nil {
			return err
		}
		return s.directTitleChanged(r.Context(), q, ob, me, uid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	c, err := s.contact(r, me, uid)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contact": c})
}

func (s *Server) handleDeleteContact(w http.ResponseWriter, r *http.Request) {
	uid, err := pathID(r, "user_id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	me := caller(r.Context()).User.ID
	err = s.change(r.Context(), func(q *store.Queries, ob *outbox) error {
		n, err := q.DeleteContact(r.Context(), store.DeleteContactParams{OwnerID: me, UserID: uid})
		if err == nil && n == 0 {
			return errNotFound
		}
		if err != nil {
			return err
		}
		return s.directTitleChanged(r.Context(), q, ob, me, uid)
	})
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// directTitleChanged marks the owner's direct chat with user changed (its
// title follows the alias) and tells the owner's devices, if there is one.
func (s *Server) directTitleChanged(ctx context.Context, q *store.Queries, ob *outbox, owner, user int64) error {
	key := directKey(owner, user)
	if err := q.MarkDirectChanged(ctx, store.MarkDirectChangedParams{OwnerID: owner, DirectKey: key}); err != nil {
		return err
	}
	id, err := q.GetDirectByKey(ctx, &key)
	if store.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	ev, err := conversationEvent(ctx, q, owner, id)
	ob.add(ev)
	return err
}
