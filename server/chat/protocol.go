package chat

import (
	"encoding/json"
	"time"

	"github.com/parleychat/parley/store"
)

// The WebSocket frame types (docs/protocol.md).
const (
	FrameHello               = "hello"
	FrameMessageCreated      = "message.created"
	FrameMessageUpdated      = "message.updated"
	FrameReceipt             = "receipt"
	FrameTyping              = "typing"
	FramePresence            = "presence"
	FrameConversationUpdated = "conversation.updated"
	FrameConversationRemoved = "conversation.removed"
	FrameGroupUpdated        = "group.updated"
	FrameGroupChanged        = "group.changed" // an extension: a group's shared fields, for every member at once
	FrameGroupRemoved        = "group.removed" // an extension: the group was deleted, or the user left it
	FrameError               = "error"
	FramePong                = "pong"

	FrameMessageSend = "message.send"
	FramePing        = "ping"
	FrameViewing     = "viewing" // an extension: the conversation a connection shows
)

type outFrame struct {
	Type string `json:"type"`
	Data any    `json:"data,omitempty"`
}

// EncodeFrame encodes a server frame once; the bytes go to every recipient.
func EncodeFrame(typ string, data any) []byte {
	b, err := json.Marshal(outFrame{Type: typ, Data: data})
	if err != nil {
		panic("encode frame: " + err.Error()) // only our own types get here
	}
	return b
}

// User is the protocol's User.
type User struct {
	ID          int64     `json:"id"`
	Username    string    `json:"username"`
	DisplayName string    `json:"display_name"`
	CreatedAt   time.Time `json:"created_at"`
	Bot         bool      `json:"bot,omitempty"`
	OwnerID     *int64    `json:"owner_id,omitempty"`
	Role        string    `json:"role"`
	Deactivated bool      `json:"deactivated"`
	// PresenceVisibility is the user's own setting: on /me only.
	PresenceVisibility string `json:"presence_visibility,omitempty"`
}

func userJSON(u store.User) User {
	return User{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, CreatedAt: u.CreatedAt.UTC(), Bot: u.Bot, OwnerID: u.OwnerID,
		Role: u.Role, Deactivated: u.DeactivatedAt != nil}
}

// Message is the protocol's Message (v1.1).
type Message struct {
	ID             int64        `json:"id"`
	ConversationID int64        `json:"conversation_id"`
	Seq            int64        `json:"seq"`
	SenderID       int64        `json:"sender_id"`
	ClientID       string       `json:"client_id"`
	Body           string       `json:"body"`
	CreatedAt      time.Time    `json:"created_at"`
	EditedAt       *time.Time   `json:"edited_at"`
	Deleted        bool         `json:"deleted"`
	Version        int32        `json:"version"`
	ReplyToSeq     *int64       `json:"reply_to_seq"`
	Mentions       Mentions     `json:"mentions"`
	Reactions      []Reaction   `json:"reactions"`
	Attachments    []Attachment `json:"attachments"`
	Previews       []Preview    `json:"previews"`
	// SenderName is the name a webhook post is shown as (its sender is
	// the webhook's bot); absent on every other message.
	SenderName *string `json:"sender_name,omitempty"`
}

// Mentions are whom a message mentions: users by name, or everyone.
type Mentions struct {
	UserIDs []int64 `json:"user_ids"`
	All     bool    `json:"all"`
}

// Reaction is one emoji on a message and who chose it, first first.
type Reaction struct {
	Emoji   string  `json:"emoji"`
	UserIDs []int64 `json:"user_ids"`
}

// messageJSON is a message without its reactions and named mentions (see
// hydrate); a send knows them, others load them.
func messageJSON(m store.Message) Message {
	return Message{ID: m.ID, ConversationID: m.ConversationID, Seq: m.Seq, SenderID: m.SenderID,
		ClientID: m.ClientID, Body: m.Body, CreatedAt: m.CreatedAt.UTC(), EditedAt: utc(m.EditedAt),
		Deleted: m.Deleted, Version: m.Version, ReplyToSeq: m.ReplyToSeq,
		Mentions: Mentions{UserIDs: []int64{}, All: m.MentionAll}, Reactions: []Reaction{},
		Attachments: []Attachment{}, Previews: []Preview{}, SenderName: m.SenderName}
}

// Conversation is the protocol's Conversation, as one member sees it.
type Conversation struct {
	ID               int64     `json:"id"`
	Kind             string    `json:"kind"`
	Title            string    `json:"title"`
	Peer             *User     `json:"peer,omitempty"`
	GroupID          *int64    `json:"group_id,omitempty"`
	Name             *string   `json:"name,omitempty"`
	LastSeq          int64     `json:"last_seq"`
	LastMessage      *Message  `json:"last_message"`
	DeliveredSeq     int64     `json:"delivered_seq"`
	ReadSeq          int64     `json:"read_seq"`
	UnreadCount      int64     `json:"unread_count"`
	MentionCount     int64     `json:"mention_count"`
	Pinned           bool      `json:"pinned"`
	Archived         bool      `json:"archived"`
	Muted            bool      `json:"muted"`
	Notify           string    `json:"notify"`
	ClearedSeq       int64     `json:"cleared_seq"`
	JoinedSeq        int64     `json:"joined_seq"`
	PeerDeliveredSeq *int64    `json:"peer_delivered_seq,omitempty"`
	PeerReadSeq      *int64    `json:"peer_read_seq,omitempty"`
	MemberCount      int64     `json:"member_count"`
	UpdatedAt        time.Time `json:"updated_at"`
}

func conversationJSON(r store.MemberConversation) Conversation {
	c := Conversation{
		ID: r.ID, Kind: r.Kind, LastSeq: r.LastSeq, DeliveredSeq: r.DeliveredSeq, ReadSeq: r.ReadSeq,
		UnreadCount: r.UnreadCount, MentionCount: r.MentionCount, Pinned: r.Pinned, Archived: r.Archived, Muted: r.Muted,
		Notify: r.Notify, ClearedSeq: r.ClearedSeq, JoinedSeq: r.JoinedSeq, MemberCount: r.MemberCount, UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.Kind == "direct" {
		c.Peer = &User{ID: r.PeerID, Username: r.PeerUsername, DisplayName: r.PeerDisplayName, CreatedAt: r.PeerCreatedAt.UTC(), Bot: r.PeerBot,
			Role: r.PeerRole, Deactivated: r.PeerDeactivated}
		c.Title = r.PeerDisplayName
		if r.PeerAlias != nil {
			c.Title = *r.PeerAlias
		}
		c.PeerDeliveredSeq, c.PeerReadSeq = &r.PeerDeliveredSeq, &r.PeerReadSeq
	} else {
		c.GroupID, c.Name, c.Title = r.GroupID, &r.Name, r.Name
	}
	if r.LastID != nil {
		// a summary for the list: no reactions or mentions by name
		m := messageJSON(store.Message{ID: *r.LastID, ConversationID: r.ID, Seq: r.LastSeq, SenderID: *r.LastSenderID,
			ClientID: *r.LastClientID, Body: *r.LastBody, CreatedAt: *r.LastCreatedAt, EditedAt: r.LastEditedAt,
			Deleted: *r.LastDeleted, Version: *r.LastVersion, ReplyToSeq: r.LastReplyToSeq})
		c.LastMessage = &m
	}
	return c
}

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

// SharedGroup is what every member of a group sees alike: the group.changed
// frame. Channels are listed by id and name only; each member's own counts
// and flags stay in their conversations.
type SharedGroup struct {
	ID          int64           `json:"id"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	CreatedAt   time.Time       `json:"created_at"`
	MemberCount int64           `json:"member_count"`
	Channels    []SharedChannel `json:"channels"`
}

// SharedChannel names one channel of a SharedGroup.
type SharedChannel struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Member is the protocol's group Member.
type Member struct {
	User     User      `json:"user"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

func memberJSON(u store.User, role string, joined time.Time) Member {
	return Member{User: userJSON(u), Role: role, JoinedAt: joined.UTC()}
}

// Contact is the protocol's Contact.
type Contact struct {
	User      User      `json:"user"`
	Alias     *string   `json:"alias"`
	CreatedAt time.Time `json:"created_at"`
}

// Invite is an invite as its group's admins see it.
type Invite struct {
	Code      string     `json:"code"`
	MaxUses   *int32     `json:"max_uses"`
	Uses      int32      `json:"uses"`
	ExpiresAt *time.Time `json:"expires_at"`
	Revoked   bool       `json:"revoked"`
	CreatedBy int64      `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

func inviteJSON(i store.Invite) Invite {
	return Invite{Code: i.Code, MaxUses: i.MaxUses, Uses: i.Uses, ExpiresAt: utc(i.ExpiresAt),
		Revoked: i.RevokedAt != nil, CreatedBy: i.CreatedBy, CreatedAt: i.CreatedAt.UTC()}
}

// InvitePreview is what an invite shows before it is accepted.
type InvitePreview struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	MemberCount int    `json:"member_count"`
	IsMember    bool   `json:"is_member"`
}

// Receipt is one member's watermarks.
type Receipt struct {
	UserID       int64 `json:"user_id"`
	DeliveredSeq int64 `json:"delivered_seq"`
	ReadSeq      int64 `json:"read_seq"`
}

// Presence is one user's online state.
type Presence struct {
	UserID   int64      `json:"user_id"`
	Online   bool       `json:"online"`
	LastSeen *time.Time `json:"last_seen"`
}

// Frame payloads.
type (
	MessageData struct {
		Message Message `json:"message"`
	}
	ReceiptData struct {
		ConversationID int64 `json:"conversation_id"`
		UserID         int64 `json:"user_id"`
		DeliveredSeq   int64 `json:"delivered_seq"`
		ReadSeq        int64 `json:"read_seq"`
	}
	TypingData struct {
		ConversationID int64 `json:"conversation_id"`
		UserID         int64 `json:"user_id"`
	}
	ConversationData struct {
		Conversation Conversation `json:"conversation"`
	}
	ConversationRemovedData struct {
		ConversationID int64 `json:"conversation_id"`
	}
	GroupData struct {
		Group Group `json:"group"`
	}
	GroupChangedData struct {
		Group SharedGroup `json:"group"`
	}
	GroupRemovedData struct {
		GroupID int64 `json:"group_id"`
	}
	ErrorData struct {
		Code     string `json:"code"`
		Message  string `json:"message"`
		Field    string `json:"field,omitempty"`
		ClientID string `json:"client_id,omitempty"`
	}
	HelloData struct {
		UserID     int64  `json:"user_id"`
		Node       string `json:"node"`
		HeartbeatS int    `json:"heartbeat_s"`
	}
)

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
