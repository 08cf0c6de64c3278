package chat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleychat/parley/store"
)

// Incoming webhooks (docs/protocol.md, Integrations): a secret URL that
// posts to one channel, in Slack's format, as the webhook's own bot. The
// bot is a member of that channel alone, has no password and no token, and
// is deactivated with its webhook (its messages stay). The admins and the
// owner of the channel's group manage its webhooks.

const maxWebhooksPerChannel = 20

// Webhook is the protocol's webhook.
type Webhook struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	ConversationID int64     `json:"conversation_id"`
	BotID          int64     `json:"bot_id"`
	URL            string    `json:"url"`
	CreatedAt      time.Time `json:"created_at"`
}

func webhookJSON(w store.Webhook, base string) Webhook {
	return Webhook{ID: w.ID, Name: w.Name, ConversationID: w.ConversationID, BotID: w.BotID,
		URL: base + "/hooks/" + w.Secret, CreatedAt: w.CreatedAt.UTC()}
}

// channelAdmin checks the actor may manage a channel's webhooks: an admin
// or the owner of its group. Anyone else who cannot read the conversation
// gets 404; a direct chat has no webhooks.
func (s *Service) channelAdmin(ctx context.Context, me Actor, convID int64) error {
	sc, err := s.db.GetSendContext(ctx, store.GetSendContextParams{ConversationID: convID, UserID: me.ID()})
	if store.IsNotFound(err) {
		return ErrNotFound
	} else if err != nil {
		return err
	}
	if sc.Kind != "channel" {
		check, err := s.db.CheckSend(ctx, store.CheckSendParams{ConversationID: convID, SenderID: me.ID()})
		if err != nil {
			return err
		}
		if !check.Member {
			return ErrNotFound
		}
		return Validation("conversation_id", "Webhooks post to channels; a direct chat has none.")
	}
	switch sc.Role {
	case "":
		return ErrNotFound
	case RoleAdmin, RoleOwner:
		return nil
	}
	return NewError(CodeForbidden, "Only the admins of a group manage its channels' webhooks.")
}

// CreateWebhook makes a webhook (and its bot) for a channel; base is the
// server's address as clients reach it, for the webhook's URL.
func (s *Service) CreateWebhook(ctx context.Context, me Actor, convID int64, name, base string) (Webhook, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > 64 {
		return Webhook{}, Validation("name", "A webhook's name is 1 to 64 characters.")
	}
	dn, err := normalizeDisplayName(name)
	if err != nil {
		return Webhook{}, Validation("name", "A webhook's name is 1 to 64 characters of text.")
	}
	if err := s.channelAdmin(ctx, me, convID); err != nil {
		return Webhook{}, err
	}
	secret, err := randomToken(24) // 192 bits
	if err != nil {
		return Webhook{}, err
	}
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Webhook{}, err
	}
	var w store.Webhook
	err = s.db.InTx(ctx, func(q *store.Queries) error {
		bot, err := q.CreateWebhookBot(ctx, store.CreateWebhookBotParams{Username: "hook-" + hex.EncodeToString(b[:]),
			DisplayName: dn, Owner: me.ID(), ConversationID: convID})
		if err != nil {
			return err
		}
		w, err = q.CreateWebhook(ctx, store.CreateWebhookParams{ConversationID: convID, BotID: bot.ID, Name: dn,
			Secret: secret, CreatedBy: &me.User.ID, MaxWebhooks: maxWebhooksPerChannel})
		if store.IsNotFound(err) {
			return Conflict("A channel has at most 20 webhooks; delete one first.")
		} else if err != nil {
			return err
		}
		return s.audit(ctx, q, me, "webhook.create", "webhook:"+itoa(w.ID)+" conversation:"+itoa(convID))
	})
	if err != nil {
		return Webhook{}, err
	}
	return webhookJSON(w, base), nil
}

// ListWebhooks lists a channel's webhooks (its admins).
func (s *Service) ListWebhooks(ctx context.Context, me Actor, convID int64, base string) ([]Webhook, error) {
	if err := s.channelAdmin(ctx, me, convID); err != nil {
		return nil, err
	}
	rows, err := s.db.ListWebhooks(ctx, convID)
	if err != nil {
		return nil, err
	}
	out := make([]Webhook, len(rows))
	for i, r := range rows {
		out[i] = webhookJSON(r, base)
	}
	return out, nil
}

// DeleteWebhook deletes a webhook: its URL answers 404 at once, its bot is
// deactivated and leaves the channel, its messages stay.
func (s *Service) DeleteWebhook(ctx context.Context, me Actor, convID, id int64) error {
	if err := s.channelAdmin(ctx, me, convID); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(q *store.Queries) error {
		if _, err := q.DeleteWebhook(ctx, store.DeleteWebhookParams{ID: id, ConversationID: convID}); err != nil {
			return err
		}
		return s.audit(ctx, q, me, "webhook.delete", "webhook:"+itoa(id)+" conversation:"+itoa(convID))
	})
}

// HookPost is Slack's incoming-webhook body: text, and a name to show the
// post as.
type HookPost struct {
	Text     string `json:"text"`
	Username string `json:"username"`
}

// PostWebhook posts to the channel of the webhook with this secret, as its
// bot; it is rate-limited like the bot's sends. An unknown secret, or one
// of a deleted webhook, is 404.
func (s *Service) PostWebhook(ctx context.Context, secret string, in HookPost) (Message, error) {
	if secret == "" || len(secret) > 128 {
		return Message{}, ErrNotFound
	}
	row, err := s.db.GetWebhookBySecret(ctx, secret)
	if store.IsNotFound(err) {
		return Message{}, ErrNotFound
	} else if err != nil {
		return Message{}, err
	}
	if strings.TrimSpace(in.Text) == "" {
		return Message{}, Validation("text", "A webhook post needs text.")
	}
	name := row.Webhook.Name
	if u := strings.TrimSpace(in.Username); u != "" {
		dn, err := normalizeDisplayName(u)
		if err != nil {
			return Message{}, Validation("username", "username is 1 to 64 characters of text.")
		}
		name = dn
	}
	id, err := randomToken(16)
	if err != nil {
		return Message{}, err
	}
	msg, _, err := s.Send(ctx, Actor{User: row.User}, row.Webhook.ConversationID,
		Outgoing{ClientID: "hook-" + id, Body: in.Text, asName: &name})
	return msg, err
}
