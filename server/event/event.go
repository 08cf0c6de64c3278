// Package event is the seam every real-time event crosses: it leaves a node
// through a Bus and comes back through it before it reaches any WebSocket,
// even when only one node runs. The in-process Bus is memory.go; the
// RabbitMQ one lives in event/rabbitmq.
package event

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

// Event is one real-time event on one topic.
type Event struct {
	ID     string `json:"id"`     // unique; receivers drop duplicates by it
	Origin string `json:"origin"` // the publishing node
	Topic  string `json:"topic"`  // UserTopic, GroupTopic or ConversationTopic

	// Frame is the WebSocket frame for clients, encoded once by the
	// publisher and sent as is to every recipient; nil for an event that
	// only changes routing.
	Frame json.RawMessage `json:"frame,omitempty"`
	// Droppable frames (typing, presence) may be dropped under pressure.
	Droppable bool `json:"droppable,omitempty"`
	// ExceptUser is not sent the frame (typing goes to the other members).
	ExceptUser int64 `json:"except_user,omitempty"`
	// ViewersOnly frames (typing and presence in large conversations and
	// groups) reach only the connections viewing the conversation, or one
	// of the group's channels. Such an event changes no routing.
	ViewersOnly bool `json:"viewers_only,omitempty"`

	// Routing changes for the topic's recipients (the user of a user
	// topic, every member of a group or conversation topic): conversations
	// and groups they joined or left. Nodes with their connections route
	// those topics' events to them, or stop, before the frame is delivered.
	Join        []int64 `json:"join,omitempty"`
	Leave       []int64 `json:"leave,omitempty"`
	JoinGroups  []int64 `json:"join_groups,omitempty"`
	LeaveGroups []int64 `json:"leave_groups,omitempty"`
	// Since, beside Join: each joined conversation's last seq when it was
	// joined (missing ones: 0). A node that binds a joined conversation
	// late replays the messages above it (see Hub).
	Since []int64 `json:"since,omitempty"`
	// At is when the change was made (Unix nanoseconds), for the
	// send-to-deliver latency; zero when unknown.
	At int64 `json:"at,omitempty"`
	// On a user topic: sessions that ended (logout, password change); their
	// connections are closed.
	CloseSessions []int64 `json:"close_sessions,omitempty"`
	// On AuthTopic: users whose cached sessions every node drops (their
	// sessions ended, or what they grant changed).
	ForgetUsers []int64 `json:"forget_users,omitempty"`
	// MessageID is the message the frame carries, if any: the outbox keeps
	// it beside the event, so deleting the message erases its waiting
	// events. It does not travel.
	MessageID int64 `json:"-"`
	// Encoded is the event's JSON when the outbox already made it (it is
	// the outbox row's payload): a bus that sends JSON sends it as is
	// instead of encoding the event again. It does not travel.
	Encoded []byte `json:"-"`
	// Created is the message a message.created frame carries: a node that
	// replays a conversation to a member who just joined it drops the bus's
	// copy of a message it replayed.
	Created int64 `json:"created,omitempty"`
}

// Handler receives the events of the topics a node subscribed, one at a
// time and in the order the bus got them, from the bus's delivery
// goroutine. It does no I/O but one kind: an event that routes new
// conversations to local connections binds their topics before its frame
// is delivered (so their next events are not missed), which holds up the
// events behind it for that long.
type Handler func(Event)

// Bus carries events between nodes.
type Bus interface {
	// Publish sends ev to every node subscribed to ev.Topic, this one
	// included. It returns once the bus has accepted the event.
	Publish(ctx context.Context, ev Event) error
	// Subscribe and Unsubscribe change the topics this node receives.
	// Callers reference-count: they subscribe a topic once and
	// unsubscribe it once.
	Subscribe(ctx context.Context, topic string) error
	Unsubscribe(ctx context.Context, topic string) error
	// Ping reports whether the bus works (for /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// BatchPublisher is a Bus that can publish several events at once,
// pipelined: it returns how many of them, in order, the bus accepted.
type BatchPublisher interface {
	PublishAll(ctx context.Context, evs []Event) (int, error)
}

// PublishAll publishes evs in order, pipelined when the bus can, and
// returns how many were accepted before the first failure.
func PublishAll(ctx context.Context, b Bus, evs []Event) (int, error) {
	if bp, ok := b.(BatchPublisher); ok {
		return bp.PublishAll(ctx, evs)
	}
	for i, ev := range evs {
		if err := b.Publish(ctx, ev); err != nil {
			return i, err
		}
	}
	return len(evs), nil
}

// AuthTopic reaches every node: each subscribes it at start.
const AuthTopic = "auth"

// UserTopic carries events for one user's connections.
func UserTopic(userID int64) string { return "u." + strconv.FormatInt(userID, 10) }

// GroupTopic carries events for every member of a group: its shared
// fields and changes to its channels, at one event whatever its size.
func GroupTopic(groupID int64) string { return "g." + strconv.FormatInt(groupID, 10) }

// ConversationTopic carries events for every member of a conversation.
func ConversationTopic(conversationID int64) string {
	return "c." + strconv.FormatInt(conversationID, 10)
}

// NewID returns a random event id.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
