package chat

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

// recordingBus is the in-process bus keeping what is published, in order.
type recordingBus struct {
	*event.Memory
	mu  sync.Mutex
	evs []event.Event
}

func (b *recordingBus) Publish(ctx context.Context, ev event.Event) error {
	b.mu.Lock()
	b.evs = append(b.evs, ev)
	b.mu.Unlock()
	return b.Memory.Publish(ctx, ev)
}

func (b *recordingBus) frames() []event.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.evs)
}

// TestSendBatchInOneStatement commits batches as the workers form them,
// so the one-statement path (SendMessages) certainly runs: seqs per
// conversation in arrival order, replies, mentions, names, the sender's
// own watermarks, a member brought back (told before the message), and
// the fallbacks to one send at a time (a non-member, a client_id taken
// twice) that lose nothing and use no seq.
func TestSendBatchInOneStatement(t *testing.T) {
	ctx := context.Background()
	bus := &recordingBus{Memory: event.NewMemory(func(event.Event) {})}
	s := New(Options{DB: storetest.New(t), Bus: bus, Tracker: presence.NewMemory(presence.DefaultTTL),
		Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	t.Cleanup(s.Close)
	ids := storetest.SeedUsers(t, s.db, "b", 4)
	users := make([]store.User, len(ids))
	for i, id := range ids {
		u, err := s.db.GetUser(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		users[i] = u
	}
	a, b, c, d := users[0], users[1], users[2], users[3]
	ab, err := s.Direct(ctx, Actor{User: a}, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	ac, err := s.Direct(ctx, Actor{User: a}, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// c hides the conversation with a: a's send brings it back
	if err := s.ClearConversation(ctx, Actor{User: c}, ac.ID, true); err != nil {
		t.Fatal(err)
	}
	one := int64(1)
	name := "Deploy bot"
	req := func(u store.User, conv int64, cid, body string) *sendReq {
		return &sendReq{user: u, conv: conv, clientID: cid, body: body, done: make(chan sendRes, 1)}
	}
	batch := []*sendReq{
		req(a, ab.ID, "1", "first"),
		req(a, ac.ID, "2", "to c"),
		req(b, ab.ID, "3", "second, a reply"),
		req(a, ab.ID, "4", "third, named, mentioning b"),
	}
	batch[2].replyTo = &one
	batch[3].asName = &name
	batch[3].mentions = resolvedMentions{userIDs: []int64{b.ID}}
	bus.mu.Lock()
	bus.evs = nil
	bus.mu.Unlock()
	s.sends.commit(batch)
	for i, r := range batch {
		res := <-r.done
		if res.err != nil {
			t.Fatalf("send %d: %v", i, res.err)
		}
		if res.msg.ClientID != r.clientID || res.msg.Body != r.body {
			t.Fatalf("send %d answered with %+v", i, res.msg)
		}
	}
	page, err := s.History(ctx, Actor{User: a}, ab.ID, HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range page.Messages {
		got = append(got, m.ClientID)
		if m.Seq != int64(len(got)) {
			t.Fatalf("seq %d for the %d-th message", m.Seq, len(got))
		}
	}
	if !slices.Equal(got, []string{"1", "3", "4"}) {
		t.Fatalf("conversation holds %v", got)
	}
	third := page.Messages[2]
	if third.SenderName == nil || *third.SenderName != name || !slices.Equal(third.Mentions.UserIDs, []int64{b.ID}) {
		t.Fatalf("named send stored as %+v", third)
	}
	if page.Messages[1].ReplyToSeq == nil || *page.Messages[1].ReplyToSeq != 1 || page.Messages[0].ReplyToSeq != nil {
		t.Fatalf("replies stored as %v, %v", page.Messages[1].ReplyToSeq, page.Messages[0].ReplyToSeq)
	}
	var mentioned int
	if err := s.db.Pool.QueryRow(ctx, "SELECT count(*) FROM mentions WHERE user_id = $1 AND conversation_id = $2 AND seq = 3", b.ID, ab.ID).Scan(&mentioned); err != nil || mentioned != 1 {
		t.Fatalf("mention rows %d, %v", mentioned, err)
	}
	var read, delivered int64
	if err := s.db.Pool.QueryRow(ctx, "SELECT read_seq, delivered_seq FROM members WHERE conversation_id = $1 AND user_id = $2", ab.ID, a.ID).Scan(&read, &delivered); err != nil || read != 3 || delivered != 3 {
		t.Fatalf("sender's own watermarks %d/%d, %v", read, delivered, err)
	}
	var words int
	if err := s.db.Pool.QueryRow(ctx, "SELECT count(*) FROM message_words WHERE conversation_id = $1", ab.ID).Scan(&words); err != nil || words != 3 {
		t.Fatalf("%d messages indexed for search, %v", words, err)
	}
	var hidden bool
	if err := s.db.Pool.QueryRow(ctx, "SELECT hidden FROM members WHERE conversation_id = $1 AND user_id = $2", ac.ID, c.ID).Scan(&hidden); err != nil || hidden {
		t.Fatalf("c's conversation hidden=%v, %v", hidden, err)
	}
	// published after the commit: c learns of the conversation, then its message
	waitFor(t, func() bool { return len(bus.frames()) >= 5 })
	var order []string
	for _, ev := range bus.frames() {
		var f struct{ Type string }
		if err := json.Unmarshal(ev.Frame, &f); err != nil {
			t.Fatal(err)
		}
		order = append(order, ev.Topic+" "+f.Type)
	}
	cTopic, acTopic := event.UserTopic(c.ID)+" "+FrameConversationUpdated, event.ConversationTopic(ac.ID)+" "+FrameMessageCreated
	if i, j := slices.Index(order, cTopic), slices.Index(order, acTopic); i < 0 || j < 0 || i > j {
		t.Fatalf("events %v: want %q before %q", order, cTopic, acTopic)
	}

	// d is in neither conversation, and client_id "5" comes twice: the
	// batch rolls back and each send runs on its own
	batch = []*sendReq{req(a, ab.ID, "5", "kept"), req(d, ab.ID, "6", "not a member"), req(a, ab.ID, "5", "kept")}
	s.sends.commit(batch)
	first, stranger, again := <-batch[0].done, <-batch[1].done, <-batch[2].done
	if first.err != nil || first.msg.Seq != 4 {
		t.Fatalf("first send: %+v, %v", first.msg, first.err)
	}
	if stranger.err == nil {
		t.Fatal("a non-member's send was stored")
	}
	if again.err != nil && !errors.Is(again.err, errSendRace) {
		t.Fatalf("the repeated client_id: %v", again.err)
	}
	var last int64
	if err := s.db.Pool.QueryRow(ctx, "SELECT last_seq FROM conversations WHERE id = $1", ab.ID).Scan(&last); err != nil || last != 4 {
		t.Fatalf("last_seq %d after the fallback, %v", last, err)
	}
}

// waitFor polls ok for up to five seconds.
func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for range 500 {
		if ok() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("timed out waiting")
}
