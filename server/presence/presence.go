// Package presence tracks who is online across every node: a user is online
// while at least one of their connections, on any node, is alive. The
// in-process Tracker is memory.go; the Memcached one lives in
// presence/memcached.
package presence

import (
	"context"
	"time"
)

// DefaultTTL is how long a user stays online without a heartbeat: the time
// after a node's crash until its users show offline.
const DefaultTTL = 60 * time.Second

// Tracker records this node's share of presence. The hub calls Connect for
// a user's first local connection, Disconnect after the last, and Heartbeat
// for every locally connected user well within the TTL.
type Tracker interface {
	// Connect marks the user online through this node and reports whether
	// that made them come online (they were offline everywhere).
	Connect(ctx context.Context, userID int64) (cameOnline bool, err error)
	// Disconnect withdraws this node's share and reports whether the user
	// is now offline everywhere.
	Disconnect(ctx context.Context, userID int64) (wentOffline bool, err error)
	// Heartbeat refreshes the TTL of every listed user this node connected,
	// in one batch. It never brings back a user this node disconnected (a
	// heartbeat may race with the last connection's close); it returns the
	// listed users it has no entry for (lost by a restart of the store, or
	// expired), for the caller to Connect again if they are still here.
	Heartbeat(ctx context.Context, userIDs []int64) (missing []int64, err error)
	// Online reports which of ids are online; absent ids are offline.
	Online(ctx context.Context, ids []int64) (map[int64]bool, error)
	Ping(ctx context.Context) error
	Close() error
}
