package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleychat/parley/server/chat"
)

type inFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// handle answers one client frame by calling the same use case as its HTTP
// twin. A bad frame gets an error frame; the connection stays open.
func (c *Conn) handle(ctx context.Context, raw []byte) {
	var f inFrame
	if err := json.Unmarshal(raw, &f); err != nil || f.Type == "" {
		c.notice(chat.FrameError, chat.ErrorData{Code: chat.CodeInvalidJSON, Message: `A frame is {"type": "...", "data": {...}}.`})
		return
	}
	data := f.Data
	if len(data) == 0 || string(data) == "null" {
		data = []byte("{}")
	}
	svc := c.hub.chat
	switch f.Type {
	case chat.FramePing:
		c.notice(chat.FramePong, nil)
	case chat.FrameMessageSend:
		var in struct {
			ConversationID int64 `json:"conversation_id"`
			chat.Outgoing
		}
		if err := json.Unmarshal(data, &in); err != nil {
			c.reply(chat.FrameError, chat.ErrorData{Code: chat.CodeInvalidJSON, Message: "message.send needs conversation_id, client_id and body."})
			return
		}
		msg, created, err := svc.Send(ctx, c.me, in.ConversationID, in.Outgoing)
		if err != nil {
			c.replyErr(err, in.ClientID)
			return
		}
		if !created {
			// a retry: the original message.created went out long ago
			c.reply(chat.FrameMessageCreated, chat.MessageData{Message: msg})
		}
	case chat.FrameReceipt:
		var in struct {
			ConversationID int64  `json:"conversation_id"`
			DeliveredSeq   *int64 `json:"delivered_seq"`
			ReadSeq        *int64 `json:"read_seq"`
		}
		if err := json.Unmarshal(data, &in); err != nil {
			c.reply(chat.FrameError, chat.ErrorData{Code: chat.CodeInvalidJSON, Message: "receipt needs conversation_id and delivered_seq or read_seq."})
			return
		}
		err := svc.Receipt(c.me, in.ConversationID, in.DeliveredSeq, in.ReadSeq, func(err error) {
			if err != nil {
				c.replyErr(err, "")
			}
		})
		if err != nil {
			c.replyErr(err, "")
		}
	case chat.FrameTyping:
		var in struct {
			ConversationID int64 `json:"conversation_id"`
		}
		if err := json.Unmarshal(data, &in); err != nil {
			c.reply(chat.FrameError, chat.ErrorData{Code: chat.CodeInvalidJSON, Message: "typing needs conversation_id."})
			return
		}
		now := time.Now()
		if now.Sub(c.typing[in.ConversationID]) < chat.TypingEvery {
			return // rate-limited: the last one still shows
		}
		if err := svc.Typing(ctx, c.me, in.ConversationID); err != nil {
			c.replyErr(err, "")
			return
		}
		c.typing[in.ConversationID] = now
	case chat.FrameViewing:
		var in struct {
			ConversationID *int64 `json:"conversation_id"`
		}
		if err := json.Unmarshal(data, &in); err != nil {
			c.reply(chat.FrameError, chat.ErrorData{Code: chat.CodeInvalidJSON, Message: "viewing needs conversation_id (a number or null)."})
			return
		}
		if in.ConversationID == nil || *in.ConversationID == 0 {
			c.hub.view(c, 0, 0)
			return
		}
		group, err := svc.View(ctx, c.me, *in.ConversationID)
		if err != nil {
			c.hub.view(c, 0, 0) // what it viewed before is not shown any more
			c.replyErr(err, "")
			return
		}
		c.hub.view(c, *in.ConversationID, group)
	default:
		c.notice(chat.FrameError, chat.ErrorData{Code: chat.CodeUnknownType, Message: "Unknown frame type " + chat.Truncate(f.Type, 40) + "."})
	}
}
