package chat

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/parleychat/parley/store"
)

// SearchUsers finds users whose username or display name starts with q.
func (s *Service) SearchUsers(ctx context.Context, me Actor, q string) ([]User, error) {
	q = strings.TrimSpace(q)
	if n := utf8.RuneCountInString(q); n < 1 || n > 64 || !utf8.ValidString(q) || strings.ContainsRune(q, 0) {
		return nil, Validation("q", "Search for 1 to 64 characters.")
	}
	rows, err := s.db.SearchUsers(ctx, strings.ToLower(q))
	if err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, u := range rows {
		out[i] = userJSON(u)
	}
	return out, nil
}

// ListContacts is the actor's address book.
func (s *Service) ListContacts(ctx context.Context, me Actor) ([]Contact, error) {
	rows, err := s.db.ListContacts(ctx, me.ID())
	if err != nil {
		return nil, err
	}
	out := make([]Contact, len(rows))
	for i, row := range rows {
		out[i] = Contact{User: userJSON(row.User), Alias: row.Alias, CreatedAt: row.AddedAt.UTC()}
	}
	return out, nil
}

func (s *Service) contact(ctx context.Context, owner, user int64) (Contact, error) {
	row, err := s.db.GetContact(ctx, store.GetContactParams{OwnerID: owner, UserID: user})
	if err != nil {
		return Contact{}, err
	}
	return Contact{User: userJSON(row.User), Alias: row.Alias, CreatedAt: row.AddedAt.UTC()}, nil
}

// AddContact adds a user, named by id or by username, with an optional alias.
func (s *Service) AddContact(ctx context.Context, me Actor, userID int64, username string, alias *string) (Contact, error) {
	alias, err := normalizeAlias(alias)
	if err != nil {
		return Contact{}, err
	}
	var target store.User
	switch {
	case userID > 0:
		target, err = s.db.GetUser(ctx, userID)
	case username != "":
		var name string
		if name, err = normalizeUsername(strings.TrimSpace(username)); err == nil {
			target, err = s.db.GetUserByUsername(ctx, name)
		} else {
			err = errNoSuchUser
		}
	default:
		err = Validation("username", "Give user_id or username.")
	}
	if store.IsNotFound(err) {
		err = errNoSuchUser
	}
	if err != nil {
		return Contact{}, err
	}
	if target.ID == me.ID() {
		return Contact{}, Validation("username", "You cannot add yourself.")
	}
	err = s.change(ctx, func(q *store.Queries, ob *outbox) error {
		if err := q.CreateContact(ctx, store.CreateContactParams{OwnerID: me.ID(), UserID: target.ID, Alias: alias}); err != nil {
			return err
		}
		return directTitleChanged(ctx, q, ob, me.ID(), target.ID)
	})
	if store.IsConflict(err) {
		return Contact{}, &Error{Code: CodeConflict, Message: "Already in your contacts.", Field: "username"}
	}
	if err != nil {
		return Contact{}, err
	}
	return s.contact(ctx, me.ID(), target.ID)
}

// SetAlias changes or removes (nil or empty) a contact's alias.
func (s *Service) SetAlias(ctx context.Context, me Actor, userID int64, alias *string) (Contact, error) {
	alias, err := normalizeAlias(alias)
	if err != nil {
		return Contact{}, err
	}
	err = s.change(ctx, func(q *store.Queries, ob *outbox) error {
		n, err := q.UpdateContactAlias(ctx, store.UpdateContactAliasParams{OwnerID: me.ID(), UserID: userID, Alias: alias})
		if err == nil && n == 0 {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return directTitleChanged(ctx, q, ob, me.ID(), userID)
	})
	if err != nil {
		return Contact{}, err
	}
	return s.contact(ctx, me.ID(), userID)
}

// DeleteContact removes a contact.
func (s *Service) DeleteContact(ctx context.Context, me Actor, userID int64) error {
	return s.change(ctx, func(q *store.Queries, ob *outbox) error {
		n, err := q.DeleteContact(ctx, store.DeleteContactParams{OwnerID: me.ID(), UserID: userID})
		if err == nil && n == 0 {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		return directTitleChanged(ctx, q, ob, me.ID(), userID)
	})
}

// directTitleChanged marks the owner's direct chat with user changed (its
// title follows the alias) and tells the owner's devices, if there is one.
func directTitleChanged(ctx context.Context, q *store.Queries, ob *outbox, owner, user int64) error {
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
