package server

import (
	"encoding/json"
	"time"

	"github.com/parleychat/parley/store"
)

// Frame types of the WebSocket protocol (docs/protocol.md).
const (
	frameHello               = "hello"
	frameMessageCreated      = "message.created"
	frameReceipt             = "receipt"
	frameTyping              = "typing"
	framePresence            = "presence"
	frameConversationUpdated = "conversation.updated"
	frameConversationRemoved = "conversation.removed"
	frameGroupUpdated        = "group.updated"
	frameGroupRemoved        = "group.removed" // an extension: the group was deleted, or the user left it
	frameError               = "error"
	framePong                = "pong"

	frameMessageSend = "message.send"
	framePing        = "ping"
)

type outFrame struct {
	Type string `json:"type"`
	Data any    `json:"data,omitempty"`
}

// encodeFrame encodes a server frame once; the bytes go to every recipient.
func encodeFrame(typ string, data any) []byte {
	b, err := json.Marshal(outFrame{Type: typ, Data: data})
	if err != nil {
		panic("encode frame: " + err.Error()) // only our own types get here
	}
	return b
}

type inFrame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// Message is the protocol's Message.
type Message struct {
	ID             int64     `json:"id"`
	ConversationID int64     `json:"conversation_id"`
	Seq            int64     `json:"seq"`
	SenderID       int64     `json:"sender_id"`
	ClientID       string    `json:"client_id"`
	Body           string    `json:"body"`
	CreatedAt      time.Time `json:"created_at"`
}

func messageJSON(m store.Message) Message {
	return Message{ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, SenderID: m.SenderID,
		ClientID: m.ClientID, Body: m.Body, CreatedAt: m.CreatedAt.UTC()}
}

type messageData struct {
	Message Message `json:"message"`
}

type receiptData struct {
	ConversationID int64 `json:"conversation_id"`
	UserID         int64 `json:"user_id"`
	DeliveredSeq   int64 `json:"delivered_seq"`
	ReadSeq        int64 `json:"read_seq"`
}

type typingData struct {
	ConversationID int64 `json:"conversation_id"`
	UserID         int64 `json:"user_id"`
}

type presenceData struct {
	UserID   int64      `json:"user_id"`
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen"`
}

type conversationData struct {
	Conversation Conversation `json:"conversation"`
}

type conversationRemovedData struct {
	ConversationID int64 `json:"conversation_id"`
}

type errorData struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	ClientID string `json:"client_id,omitempty"`
}

type helloData struct {
	UserID     int64  `json:"user_id"`
	Node       string `json:"node"`
	HeartbeatS int    `json:"heartbeat_s"`
}
