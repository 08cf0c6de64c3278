package chat

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/parleychat/parley/server/event"
	"github.com/parleychat/parley/server/presence"
	"github.com/parleychat/parley/store"
	"github.com/parleychat/parley/store/storetest"
)

func TestValidation(t *testing.T) {
	for in, want := range map[string]string{"Alice": "alice", "a.b-c_9": "a.b-c_9", "ABC": "abc"} {
		if got, err := normalizeUsername(in); err != nil || got != want {
			t.Errorf("username %q → %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "ab", "a b", "al!ce", "ａｌｉｃｅ", strings.Repeat("x", 33), "ål1ce"} {
		if _, err := normalizeUsername(bad); err == nil {
			t.Errorf("username %q accepted", bad)
		}
	}
	if err := checkPassword("password", strings.Repeat("é", 8)); err != nil {
		t.Errorf("8 code points rejected: %v", err)
	}
	if err := checkPassword("password", strings.Repeat("é", 7)); err == nil {
		t.Error("7 code points (14 bytes) accepted")
	}
	if err := checkPassword("password", "abc\xffdefgh"); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
	for _, bad := range []string{"", "   ", "a\x00b", strings.Repeat("x", 65)} {
		if _, err := normalizeDisplayName(bad); err == nil {
			t.Errorf("display name %q accepted", bad)
		}
	}
	if got, _ := normalizeDisplayName("  Zoë  "); got != "Zoë" {
		t.Errorf("display name not trimmed: %q", got)
	}
}

func TestPasswordHashing(t *testing.T) {
	h := NewHasher(Argon2Params{})
	ctx := context.Background()
	hash, err := h.Hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id with the default parameters", hash)
	}
	if again, _ := h.Hash(ctx, "correct horse"); again == hash {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for pw, want := range map[string]bool{"correct horse": true, "correct horsE": false, "": false} {
		if ok, err := h.Verify(ctx, hash, pw); err != nil || ok != want {
			t.Errorf("verify %q = %v, %v", pw, ok, err)
		}
	}
	// a hash made with other parameters still verifies
	light := NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	old, _ := light.Hash(ctx, "pw123456")
	if ok, _ := h.Verify(ctx, old, "pw123456"); !ok {
		t.Error("hash with other parameters did not verify")
	}
	if ok, err := h.Verify(ctx, "", "anything"); ok || err != nil {
		t.Errorf("empty hash: %v %v", ok, err)
	}
	for _, bad := range []string{"$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=x$AA$AA", "plain"} {
		if _, err := h.Verify(ctx, bad, "x"); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestKeyedLimiter(t *testing.T) {
	l := newKeyedLimiter(Rate{Per: 1, Burst: 2})
	for i := range 2 {
		if ok, _ := l.allow("a"); !ok {
			t.Fatalf("try %d refused", i)
		}
	}
	ok, after := l.allow("a")
	if ok || after <= 0 || after > 1e9 {
		t.Fatalf("third try: %v, retry after %v", ok, after)
	}
	if ok, _ := l.allow("b"); !ok {
		t.Fatal("other key refused")
	}
	if ok, _ := newKeyedLimiter(Rate{}).allow("a"); !ok {
		t.Fatal("zero rate limits")
	}
}

func TestIPKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.9":          "203.0.113.9",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"::ffff:198.51.100.7":  "::ffff:198.51.100.7",
	} {
		if got := IPKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("IPKey(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestPurgeExpiredSessions(t *testing.T) {
	db := storetest.New(t)
	s := New(Options{DB: db, Bus: event.NewMemory(func(event.Event) {}), Tracker: presence.NewMemory(presence.DefaultTTL),
		Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	defer s.Close()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "alice", "password1", "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.NewSession(ctx, u.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool.Exec(ctx, "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = (SELECT min(id) FROM sessions)"); err != nil {
		t.Fatal(err)
	}
	s.purgeSessions()
	var n int
	if err := db.Pool.QueryRow(ctx, "SELECT count(*) FROM sessions").Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d sessions left, %v; want the live one", n, err)
	}
}

func TestParseCursor(t *testing.T) {
	for _, good := range []string{"s5.5.", "s1.9.3", "s1.9.1_4_4_8", "s100.200.150"} {
		if _, ok := parseCursor(good); !ok {
			t.Errorf("%q refused", good)
		}
	}
	for _, bad := range []string{"", "5.5.", "s", "s1.0.", "s5.1.", "s5.10.20", "s0.0.", "s1.1.1", "s0.5.", "s1.9.4_3",
		"s1.9.9", "s1.9.0", "s1.9._", "s1.9.3_", "s-1.9.", "s1.9.3.", "s99999999999999999999.99999999999999999999.", "s+1.2.", "s1.2.x"} {
		if _, ok := parseCursor(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseCursor: whatever parseCursor accepts, PostgreSQL reads as a
// snapshot (checked in TestSyncAfterAbsence for the shapes that matter);
// here: no panic, and only well formed cursors pass.
func FuzzParseCursor(f *testing.F) {
	for _, seed := range []string{"s5.5.", "s1.9.3_4", "s1.0.", "s5.10.20", "s0.0.", "s1.1.1", "x", "s99999999999999999999.1.", "s1.9.3_2"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		snap, ok := parseCursor(s)
		if !ok {
			return
		}
		parts := strings.Split(snap, ":")
		if len(parts) != 3 || encodeCursor(snap) != s {
			t.Fatalf("%q accepted as %q", s, snap)
		}
	})
}

// TestPurgeUnsent: an upload no message carried within a day goes, bytes
// and all, and so does a day-old preview that no message shows.
func TestPurgeUnsent(t *testing.T) {
	db := storetest.New(t)
	s := New(Options{DB: db, Bus: event.NewMemory(func(event.Event) {}), Tracker: presence.NewMemory(presence.DefaultTTL),
		Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	defer s.Close()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "alice", "password1", "")
	if err != nil {
		t.Fatal(err)
	}
	me := Actor{User: u}
	old, err := s.Upload(ctx, me, "old.txt", strings.NewReader("old"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Upload(ctx, me, "new.txt", strings.NewReader("new")); err != nil {
		t.Fatal(err)
	}
	key := newKey()
	if _, err := s.files.Put(ctx, key, strings.NewReader("image")); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE files SET created_at = now() - interval '25 hours' WHERE id = " + strconv.FormatInt(old.ID, 10),
		"INSERT INTO link_previews (url, ok, title, image_key, fetched_at) VALUES ('https://example.com/', true, 'x', '" + key + "', now() - interval '25 hours')",
		"INSERT INTO link_previews (url, ok, title, fetched_at) VALUES ('https://example.com/new', true, 'x', now())",
	} {
		if _, err := db.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.filesWork.purgeUnsent()
	s.filesWork.deleteBytes()
	var files, previews, deletions int
	db.Pool.QueryRow(ctx, "SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM link_previews), (SELECT count(*) FROM file_deletions)").Scan(&files, &previews, &deletions)
	if files != 1 || previews != 1 || deletions != 0 {
		t.Fatalf("%d files, %d previews, %d deletions left", files, previews, deletions)
	}
	if _, err := s.files.Open(ctx, key); err == nil {
		t.Fatal("the old preview image is still stored")
	}
	if _, err := s.OpenFile(ctx, me, old.ID, false); err == nil {
		t.Fatal("the purged upload still opens")
	}
}

func testService(t *testing.T) (*Service, *store.DB) {
	t.Helper()
	db := storetest.New(t)
	s := New(Options{DB: db, Bus: event.NewMemory(func(event.Event) {}), Tracker: presence.NewMemory(presence.DefaultTTL),
		Hasher: NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})})
	t.Cleanup(s.Close)
	return s, db
}

// TestLatePreviewsStayOff: a preview fetched while its message was deleted,
// had its previews taken off, or lost the link, is not attached.
func TestLatePreviewsStayOff(t *testing.T) {
	s, db := testService(t)
	ctx := context.Background()
	a, _ := s.CreateUser(ctx, "alice", "password1", "")
	b, _ := s.CreateUser(ctx, "bob", "password1", "")
	me := Actor{User: a}
	conv, err := s.Direct(ctx, me, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	const link = "https://example.com/page"
	if _, err := db.Pool.Exec(ctx, "INSERT INTO link_previews (url, ok, title, fetched_at) VALUES ($1, true, 'A page', now())", link); err != nil {
		t.Fatal(err)
	}
	send := func(id string) Message {
		m, _, err := s.Send(ctx, me, conv.ID, Outgoing{ClientID: id, Body: "see " + link})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	previews := func(m Message) int {
		var n int
		db.Pool.QueryRow(ctx, "SELECT count(*) FROM message_previews WHERE message_id = $1", m.ID).Scan(&n)
		return n
	}
	// the job as the worker would run it, after each change
	ok := send("ok")
	if err := s.makePreviews(ctx, previewJob{message: ok.ID, urls: []string{link}}); err != nil || previews(ok) != 1 {
		t.Fatalf("a live message: %d previews, %v", previews(ok), err)
	}
	deleted := send("deleted")
	if err := s.Delete(ctx, me, conv.ID, deleted.Seq); err != nil {
		t.Fatal(err)
	}
	off := send("off")
	if err := s.RemovePreviews(ctx, me, conv.ID, off.Seq); err != nil {
		t.Fatal(err)
	}
	edited := send("edited")
	if _, err := s.Edit(ctx, me, conv.ID, edited.Seq, "no link now"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []Message{deleted, off, edited} {
		if err := s.makePreviews(ctx, previewJob{message: m.ID, urls: []string{link}}); err != nil || previews(m) != 0 {
			t.Fatalf("message %d: %d previews, %v", m.Seq, previews(m), err)
		}
	}
}

// TestLeasedKeys: bytes written under a lease stay while it runs, go when
// it lapses with no row referring to them, and stay when a row does.
func TestLeasedKeys(t *testing.T) {
	s, db := testService(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "alice", "password1", "")
	orphan, err := s.putLeased(ctx, strings.NewReader("orphan"))
	if err != nil {
		t.Fatal(err)
	}
	up, err := s.Upload(ctx, Actor{User: u}, "kept.txt", strings.NewReader("kept"))
	if err != nil {
		t.Fatal(err)
	}
	var kept string
	db.Pool.QueryRow(ctx, "SELECT key FROM files WHERE id = $1", up.ID).Scan(&kept)
	// a lease of the kept key that was never released
	if _, err := db.Pool.Exec(ctx, "INSERT INTO file_deletions (key, created_at) VALUES ($1, now() + interval '1 day')", kept); err != nil {
		t.Fatal(err)
	}
	s.filesWork.deleteBytes()
	for _, k := range []string{orphan, kept} {
		if _, err := s.files.Open(ctx, k); err != nil {
			t.Fatalf("%s went while leased: %v", k, err)
		}
	}
	if _, err := db.Pool.Exec(ctx, "UPDATE file_deletions SET created_at = now() - interval '1 minute'"); err != nil {
		t.Fatal(err)
	}
	s.filesWork.deleteBytes()
	if _, err := s.files.Open(ctx, orphan); err == nil {
		t.Fatal("the orphan's bytes are still stored")
	}
	if _, err := s.OpenFile(ctx, Actor{User: u}, up.ID, false); err != nil {
		t.Fatalf("the kept file went: %v", err)
	}
	var left int
	db.Pool.QueryRow(ctx, "SELECT count(*) FROM file_deletions").Scan(&left)
	if left != 0 {
		t.Fatalf("%d deletions left", left)
	}
}
