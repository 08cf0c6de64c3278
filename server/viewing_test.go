package server

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// largeGroup is a group of size members with the first connected of them
// connected to one node (no sockets: the queues are read directly).
type largeGroup struct {
	t       testing.TB
	s       *Server
	db      *store.DB
	ids     []int64
	actors  []chat.Actor
	conns   []*Conn
	gid     int64
	general int64
	// connected are the users connected by the setup: the presence of each
	// is published a while after it connects, and may reach connections
	// that view the channel afterwards, so the counts leave it out
	connected map[int64]bool

	// what each connection's writer took, by frame type, since the last drain
	mu     sync.Mutex
	counts []map[string]int
}

func newLargeGroup(t testing.TB, size, connected int) *largeGroup {
	t.Helper()
	s, db := newBareServer(t)
	ctx := context.Background()
	lg := &largeGroup{t: t, s: s, db: db, ids: storetest.SeedUsers(t, db, "m", size), connected: map[int64]bool{}}
	for _, id := range lg.ids {
		u, err := db.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		lg.actors = append(lg.actors, chat.Actor{User: u})
	}
	g, err := s.chat.CreateGroup(ctx, lg.actors[0], "Crowd", "")
	if err != nil {
		t.Fatal(err)
	}
	lg.gid, lg.general = g.ID, g.Channels[0].ID
	for rest := lg.ids[1:]; len(rest) > 0; rest = rest[min(len(rest), 500):] {
		if _, err := s.chat.AddMembers(ctx, lg.actors[0], g.ID, rest[:min(len(rest), 500)], ""); err != nil {
			t.Fatal(err)
		}
	}
	lg.counts = make([]map[string]int, connected)
	for _, a := range lg.actors[:connected] {
		lg.connected[a.ID()] = true
	}
	for i, a := range lg.actors[:connected] {
		c := s.hub.newConn("test", nil, a, func() {})
		c.local = true // all from one address, like clients on the node's host
		if err := s.hub.register(ctx, c); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.close(1000, ""); s.hub.unregister(c) })
		lg.conns = append(lg.conns, c)
		go lg.writer(i, c)
	}
	lg.settle()
	return lg
}

// settle waits until no frame has been queued for 300 ms (the presence
// of the connections just made), then empties every queue.
func (lg *largeGroup) settle() {
	quiet := 0
	for quiet < 3 {
		time.Sleep(100 * time.Millisecond)
		if lg.drain() == nil {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// writer stands in for connection i's writer: it takes what is queued, as
// fast as it is queued, and counts it.
func (lg *largeGroup) writer(i int, c *Conn) {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		batch := c.take()
		lg.mu.Lock()
		for _, f := range batch {
			var in struct {
				Type string
				Data struct {
					UserID int64 `json:"user_id"`
				}
			}
			if err := json.Unmarshal(f, &in); err != nil {
				panic(err)
			}
			if in.Type == chat.FramePresence { // by whose presence it is
				if lg.connected[in.Data.UserID] {
					continue // the setup's, still on its way to whoever views
				}
				in.Type = fmt.Sprintf("%s:%d", in.Type, in.Data.UserID)
			}
			if lg.counts[i] == nil {
				lg.counts[i] = map[string]int{}
			}
			lg.counts[i][in.Type]++
		}
		lg.mu.Unlock()
		c.qmu.Lock()
		c.spare = batch[:0]
		c.qmu.Unlock()
	}
}

// drain returns what the writers took since the last drain, by connection
// and type, once they have taken everything queued; nil for nothing.
func (lg *largeGroup) drain() map[int]map[string]int {
	for _, c := range lg.conns {
		for c.queued() > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(time.Millisecond) // a writer may be counting its last batch
	lg.mu.Lock()
	defer lg.mu.Unlock()
	var got map[int]map[string]int
	for i, byType := range lg.counts {
		if byType != nil {
			if got == nil {
				got = map[int]map[string]int{}
			}
			got[i] = byType
			lg.counts[i] = nil
		}
	}
	for _, c := range lg.conns {
		select {
		case <-c.done:
			lg.t.Fatalf("connection of user %d closed", c.me.ID())
		default:
		}
	}
	return got
}

func (lg *largeGroup) frame(i int, raw string) {
	lg.conns[i].handle(context.Background(), []byte(raw))
}

// count is how many connections got frames of typ, and how many frames
// of it there were in all.
func count(got map[int]map[string]int, typ string) (conns, frames int) {
	for _, byType := range got {
		if n := byType[typ]; n > 0 {
			conns++
			frames += n
		}
	}
	return conns, frames
}

// In a channel of more than LargeAudience members, typing and the group's
// presence reach only the connections viewing it; messages reach everyone.
func TestLargeGroupTypingAndPresenceGoToViewers(t *testing.T) {
	lg := newLargeGroup(t, 300, 150)
	ctx := context.Background()
	view := fmt.Sprintf(`{"type":"viewing","data":{"conversation_id":%d}}`, lg.general)
	for i := range 10 { // connections 0–9 view the channel
		lg.frame(i, view)
	}
	if got := lg.drain(); got != nil {
		t.Fatalf("viewing was answered: %v", got)
	}

	// typing: the other nine viewers, nobody else
	if err := lg.s.chat.Typing(ctx, lg.actors[0], lg.general); err != nil {
		t.Fatal(err)
	}
	got := lg.drain()
	if conns, frames := count(got, chat.FrameTyping); conns != 9 || frames != 9 {
		t.Fatalf("typing reached %d connections (%d frames), want the 9 other viewers: %v", conns, frames, got)
	}
	for i := range got {
		if i == 0 || i >= 10 {
			t.Fatalf("connection %d got %v", i, got[i])
		}
	}

	// presence: a member who was not connected comes online
	online := fmt.Sprintf("%s:%d", chat.FramePresence, lg.ids[200])
	late := lg.s.hub.newConn("test", nil, lg.actors[200], func() {})
	if err := lg.s.hub.register(ctx, late); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { late.close(1000, ""); lg.s.hub.unregister(late) })
	deadline := time.Now().Add(5 * time.Second)
	total := map[int]map[string]int{}
	for {
		for i, byType := range lg.drain() {
			total[i] = byType
		}
		if conns, _ := count(total, online); conns == 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	lg.settle()
	if conns, frames := count(total, online); conns != 10 || frames != 10 {
		t.Fatalf("presence reached %d connections (%d frames), want the 10 viewers: %v", conns, frames, total)
	}
	for i, byType := range total {
		for typ := range byType {
			if i >= 10 && typ != chat.FrameTyping {
				t.Fatalf("connection %d, which views nothing, got %v", i, byType)
			}
		}
	}

	// a message still reaches every connected member, viewing or not
	if _, _, err := lg.s.chat.Send(ctx, lg.actors[0], lg.general, chat.Outgoing{ClientID: "c1", Body: "hello, crowd"}); err != nil {
		t.Fatal(err)
	}
	reached := map[int]bool{}
	for deadline := time.Now().Add(5 * time.Second); len(reached) < 150 && time.Now().Before(deadline); {
		for i, byType := range lg.drain() {
			if byType[chat.FrameMessageCreated] > 0 {
				reached[i] = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(reached) != 150 {
		t.Fatalf("the message reached %d connections, want 150", len(reached))
	}

	// viewing null, viewing another conversation, leaving the group: no typing
	lg.frame(1, `{"type":"viewing","data":{"conversation_id":null}}`)
	peer, err := lg.s.chat.Direct(ctx, lg.actors[2], lg.ids[250])
	if err != nil {
		t.Fatal(err)
	}
	lg.frame(2, fmt.Sprintf(`{"type":"viewing","data":{"conversation_id":%d}}`, peer.ID))
	if err := lg.s.chat.RemoveMember(ctx, lg.actors[0], lg.gid, lg.ids[3]); err != nil {
		t.Fatal(err)
	}
	lg.settle()
	if err := lg.s.chat.Typing(ctx, lg.actors[4], lg.general); err != nil {
		t.Fatal(err)
	}
	got = lg.drain()
	for _, i := range []int{1, 2, 3} {
		if got[i][chat.FrameTyping] > 0 {
			t.Fatalf("connection %d got typing: %v", i, got[i])
		}
	}
	if conns, _ := count(got, chat.FrameTyping); conns != 6 { // 0, 5–9
		t.Fatalf("typing reached %d connections, want 6: %v", conns, got)
	}

	// viewing a conversation one is not in: not_found, and views none
	lg.frame(5, fmt.Sprintf(`{"type":"viewing","data":{"conversation_id":%d}}`, peer.ID))
	got = lg.drain()
	if got[5][chat.FrameError] != 1 {
		t.Fatalf("viewing a stranger's chat: %v", got[5])
	}
	if err := lg.s.chat.Typing(ctx, lg.actors[4], lg.general); err != nil {
		t.Fatal(err)
	}
	if got := lg.drain(); got[5][chat.FrameTyping] > 0 {
		t.Fatalf("connection 5 still views the channel: %v", got[5])
	}
}

// In a small group nothing changes: typing reaches every other member's
// connections, whether they sent viewing or not.
func TestSmallGroupTypingReachesEveryone(t *testing.T) {
	lg := newLargeGroup(t, chat.LargeAudience, 20)
	if err := lg.s.chat.Typing(context.Background(), lg.actors[0], lg.general); err != nil {
		t.Fatal(err)
	}
	if conns, _ := count(lg.drain(), chat.FrameTyping); conns != 19 {
		t.Fatalf("typing reached %d connections, want 19", conns)
	}
}

// BenchmarkLargeGroup: a group of 10,000 with 2,000 connected to this node,
// 20 of them viewing its channel. What one typing, one receipt and one
// message cost, and how many frames each queues.
func BenchmarkLargeGroup(b *testing.B) {
	lg := newLargeGroup(b, 10000, 2000)
	ctx := context.Background()
	view := fmt.Sprintf(`{"type":"viewing","data":{"conversation_id":%d}}`, lg.general)
	for i := range 20 {
		lg.frame(i, view)
	}
	lg.settle()
	frames := func() int {
		n := 0
		for _, byType := range lg.drain() {
			for _, k := range byType {
				n += k
			}
		}
		return n
	}
	b.Run("typing", func(b *testing.B) {
		n := 0
		for i := 0; b.Loop(); i++ {
			if err := lg.s.chat.Typing(ctx, lg.actors[i%len(lg.actors)], lg.general); err != nil {
				b.Fatal(err)
			}
			n += frames()
		}
		b.ReportMetric(float64(n)/float64(b.N), "frames/op")
	})
	b.Run("receipt", func(b *testing.B) {
		n := 0
		for i := 0; b.Loop(); i++ {
			seq := int64(1)
			if err := lg.s.chat.ReceiptWait(ctx, lg.actors[i%len(lg.actors)], lg.general, nil, &seq); err != nil {
				b.Fatal(err)
			}
			n += frames()
		}
		b.ReportMetric(float64(n)/float64(b.N), "frames/op")
	})
	b.Run("send", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, _, err := lg.s.chat.Send(ctx, lg.actors[i%20], lg.general, chat.Outgoing{ClientID: fmt.Sprintf("b%d", i), Body: "hello, crowd"}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		want := b.N * 2000
		n := 0
		for deadline := time.Now().Add(30 * time.Second); n < want && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			n += frames()
		}
		b.ReportMetric(float64(n)/float64(b.N), "frames/op")
	})
}
