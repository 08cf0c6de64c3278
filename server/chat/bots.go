package chat

import (
	"context"

	"github.com/parleychat/parley/store"
)

// Bots (docs/protocol.md, Integrations): users with "bot": true and an
// owner, made by their owner, with no password; their secret is a token
// (tokens.go) and works like one. Deleting a bot deactivates it: its
// secret stops at once, its sockets close, its messages stay.

const maxBotsPerOwner = 20

// BotInput is POST /bots.
type BotInput struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
}

// CreateBot makes a bot owned by the actor and returns it with its secret,
// the only time the secret is shown.
func (s *Service) CreateBot(ctx context.Context, me Actor, in BotInput) (User, string, error) {
	if me.User.Bot {
		return User{}, "", NewError(CodeForbidden, "A bot cannot make bots.")
	}
	name, err := normalizeUsername(in.Username)
	if err != nil {
		return User{}, "", err
	}
	display := in.DisplayName
	if display == "" {
		display = name
	}
	dn, err := normalizeDisplayName(display)
	if err != nil {
		return User{}, "", err
	}
	var bot store.User
	var secret string
	err = s.db.InTx(ctx, func(q *store.Queries) error {
		var err error
		bot, err = q.CreateBot(ctx, store.CreateBotParams{Username: name, DisplayName: dn, Owner: me.ID(), MaxBots: maxBotsPerOwner})
		if store.IsNotFound(err) {
			return Conflict("You have 20 bots; delete one first.")
		} else if store.IsConflict(err) {
			return ErrUsernameTaken
		} else if err != nil {
			return err
		}
		secret, err = newTokenSecret()
		if err != nil {
			return err
		}
		_, err = q.CreateToken(ctx, store.CreateTokenParams{Owner: bot.ID, TokenHash: hashToken(secret),
			ExpiresAt: never, Name: "bot", MaxTokens: maxTokensPerUser})
		if err != nil {
			return err
		}
		return s.audit(ctx, q, me, "bot.create", "user:"+itoa(bot.ID))
	})
	if err != nil {
		return User{}, "", err
	}
	return userJSON(bot), secret, nil
}

// ListBots lists the actor's bots that are not deactivated.
func (s *Service) ListBots(ctx context.Context, me Actor) ([]User, error) {
	owner := me.ID()
	rows, err := s.db.ListBots(ctx, &owner)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = userJSON(r)
	}
	return out, nil
}

// DeleteBot deactivates one of the actor's bots: its sessions go and its
// sockets close at once.
func (s *Service) DeleteBot(ctx context.Context, me Actor, id int64) error {
	var ended []int64
	owner := me.ID()
	err := s.db.InTx(ctx, func(q *store.Queries) error {
		if _, err := q.DeactivateBot(ctx, store.DeactivateBotParams{ID: id, OwnerID: &owner}); err != nil {
			return err
		}
		var err error
		if ended, err = q.DeleteUserSessions(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, q, me, "bot.delete", "user:"+itoa(id))
	})
	if err != nil {
		return err
	}
	s.endSessions(ctx, id, ended)
	return nil
}
