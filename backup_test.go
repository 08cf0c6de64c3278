package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleychat/parley/store/storetest"
)

// install is a running parley on its own database and data directory.
type install struct {
	t   *testing.T
	url string
	dir string
	app *App
}

func newInstall(t *testing.T) *install {
	dir := t.TempDir()
	in := &install{t: t, url: storetest.URL(t), dir: dir}
	return in
}

func (in *install) start() {
	cfg, err := parseConfig([]string{"--addr", "127.0.0.1:0", "--database-url", in.url, "--data-dir", in.dir, "--files", "disk",
		"--send-rate", "0", "--signup-rate", "0", "--log-level", "error"}, env(nil), io.Discard)
	if err != nil {
		in.t.Fatal(err)
	}
	if in.app, err = Start(context.Background(), cfg, newLogger(cfg, io.Discard), nil); err != nil {
		in.t.Fatal(err)
	}
}

func (in *install) stop() {
	if err := in.app.Close(); err != nil {
		in.t.Fatal(err)
	}
}

// call does an API request with a bearer token and decodes the answer.
func (in *install) call(token, method, path string, body any, out any) int {
	in.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case *bytes.Buffer:
		rd = b
	case multipartBody:
		rd, ct = b.buf, b.ct
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, "http://"+in.app.Addr+path, rd)
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil && res.StatusCode < 300 {
			in.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return res.StatusCode
}

type multipartBody struct {
	buf *bytes.Buffer
	ct  string
}

func pngBytes(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

func (in *install) upload(token, name string, data []byte) int64 {
	in.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write(data)
	mw.Close()
	var out struct{ Upload struct{ ID int64 } }
	if code := in.call(token, "POST", "/api/v1/uploads", multipartBody{&buf, mw.FormDataContentType()}, &out); code != 201 {
		in.t.Fatalf("upload: %d", code)
	}
	return out.Upload.ID
}

// TestExportImportRoundTrip: an install of a realistic size (people, a
// bot, a group with channels, direct chats, thousands of messages with
// edits, reactions, replies, deletions, files with thumbnails, a webhook
// and a report) is exported, imported into a new install, and exported
// again: the two archives are the same, byte for byte, and the restored
// install serves it all: sign-in with the kept password, history, search,
// files, and the webhook's URL.
func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := newInstall(t)
	src.start()
	type auth struct {
		Token string
		User  struct{ ID int64 }
	}
	signup := func(name string) auth {
		var a auth
		if code := src.call("", "POST", "/api/v1/auth/signup", map[string]any{"username": name, "password": "password " + name}, &a); code != 201 {
			t.Fatalf("signup %s: %d", name, code)
		}
		return a
	}
	alice, bob, carol := signup("alice"), signup("bob"), signup("carol")
	var bot struct{ Secret string }
	if code := src.call(alice.Token, "POST", "/api/v1/bots", map[string]any{"username": "cibot"}, &bot); code != 201 {
		t.Fatalf("a bot: %d", code)
	}
	if code := src.call(bot.Secret, "GET", "/api/v1/me", nil, nil); code != 200 {
		t.Fatalf("the bot before the export: %d", code)
	}
	src.call(alice.Token, "POST", "/api/v1/contacts", map[string]any{"user_id": bob.User.ID, "alias": "Bobby"}, nil)
	var dm struct{ Conversation struct{ ID int64 } }
	src.call(alice.Token, "POST", "/api/v1/direct", map[string]any{"user_id": bob.User.ID}, &dm)
	var g struct {
		Group struct {
			ID       int64
			Channels []struct{ ID int64 }
		}
	}
	src.call(alice.Token, "POST", "/api/v1/groups", map[string]any{"name": "Team"}, &g)
	for _, u := range []auth{bob, carol} {
		src.call(alice.Token, "POST", fmt.Sprintf("/api/v1/groups/%d/members", g.Group.ID), map[string]any{"user_id": u.User.ID}, nil)
	}
	src.call(alice.Token, "POST", fmt.Sprintf("/api/v1/groups/%d/channels", g.Group.ID), map[string]any{"name": "random"}, nil)
	general := g.Group.Channels[0].ID
	send := func(a auth, conv int64, body string, extra map[string]any) int64 {
		m := map[string]any{"client_id": fmt.Sprintf("c-%d-%s", a.User.ID, body), "body": body}
		for k, v := range extra {
			m[k] = v
		}
		var out struct{ Message struct{ Seq int64 } }
		if code := src.call(a.Token, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), m, &out); code != 201 {
			t.Fatalf("send %q: %d", body, code)
		}
		return out.Message.Seq
	}
	img := src.upload(alice.Token, "chart.png", pngBytes(300, 200))
	doc := src.upload(bob.Token, "notes.txt", []byte("meeting notes\n"))
	send(alice, general, "the chart", map[string]any{"upload_ids": []int64{img}})
	send(bob, dm.Conversation.ID, "my notes", map[string]any{"upload_ids": []int64{doc}})
	first := send(alice, dm.Conversation.ID, "hello bob", nil)
	send(bob, dm.Conversation.ID, "hi alice", map[string]any{"reply_to_seq": first})
	src.call(alice.Token, "PATCH", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", dm.Conversation.ID, first), map[string]any{"body": "hello, bob"}, nil)
	src.call(bob.Token, "PUT", fmt.Sprintf("/api/v1/conversations/%d/messages/%d/reactions/%s", dm.Conversation.ID, first, "%F0%9F%91%8D"), nil, nil)
	gone := send(carol, general, "a secret typo", nil)
	src.call(carol.Token, "DELETE", fmt.Sprintf("/api/v1/conversations/%d/messages/%d", general, gone), nil, nil)
	send(carol, general, "@alice look at the deploy window", nil)
	src.call(bob.Token, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages/%d/report", general, gone+1), map[string]any{"reason": "rude"}, nil)
	var hook struct{ Webhook struct{ URL string } }
	src.call(alice.Token, "POST", fmt.Sprintf("/api/v1/conversations/%d/webhooks", general), map[string]any{"name": "Deploys"}, &hook)
	// thousands of messages, written as sends write them
	db, err := pgx.Connect(ctx, src.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `
		WITH c AS (UPDATE conversations SET last_seq = last_seq + 5000 WHERE id = $1::bigint RETURNING last_seq - 5000 AS base)
		INSERT INTO messages (conversation_id, seq, sender_id, client_id, body)
		SELECT $1, c.base + i, CASE WHEN i % 3 = 0 THEN $2::bigint ELSE $3::bigint END, 'bulk-' || i, 'bulk message number ' || i || ' about kubernetes'
		FROM c, generate_series(1, 5000) i`, general, alice.User.ID, bob.User.ID); err != nil {
		t.Fatal(err)
	}
	// the thumbnail is made off the request path: wait for it
	for i := 0; ; i++ {
		var state string
		db.QueryRow(ctx, "SELECT thumb_state FROM files WHERE id = $1", img).Scan(&state)
		if state == "ready" {
			break
		}
		if i == 200 {
			t.Fatalf("no thumbnail: %s", state)
		}
		time.Sleep(50 * time.Millisecond)
	}
	src.stop()

	out1 := filepath.Join(t.TempDir(), "one.tar.gz")
	var so, se bytes.Buffer
	if rc := cli([]string{"export", "--out", out1, "--passwords", "--database-url", src.url, "--data-dir", src.dir, "--files", "disk"}, nil, &so, &se); rc != 0 {
		t.Fatalf("export: %d %s", rc, se.String())
	}
	if rc := cli([]string{"export", "--out", out1, "--database-url", src.url, "--data-dir", src.dir}, nil, &so, &se); rc == 0 {
		t.Fatal("an export overwrote a file")
	}

	dst := newInstall(t)
	// a file that is no export, and one cut short, are refused and leave
	// the install empty
	whole, _ := os.ReadFile(out1)
	bad := filepath.Join(t.TempDir(), "bad")
	for _, b := range [][]byte{[]byte("not an archive"), whole[:len(whole)/2]} {
		os.WriteFile(bad, b, 0o600)
		se.Reset()
		if rc := cli([]string{"import", bad, "--database-url", dst.url, "--data-dir", dst.dir, "--files", "disk"}, nil, &so, &se); rc == 0 {
			t.Fatalf("a broken archive (%d bytes) was imported", len(b))
		}
		if !strings.Contains(se.String(), "Parley export") && !strings.Contains(se.String(), "unexpected EOF") {
			t.Fatalf("a broken archive: %s", se.String())
		}
	}
	se.Reset()
	if rc := cli([]string{"import", out1, "--database-url", dst.url, "--data-dir", dst.dir, "--files", "disk"}, nil, &so, &se); rc != 0 {
		t.Fatalf("import: %d %s", rc, se.String())
	}
	if !strings.Contains(so.String(), "imported 5 users") {
		t.Fatalf("import said %q", so.String())
	}
	// again: the install is not empty any more
	if rc := cli([]string{"import", out1, "--database-url", dst.url, "--data-dir", dst.dir, "--files", "disk"}, nil, &so, &se); rc == 0 {
		t.Fatal("an import into a full install was accepted")
	}
	out2 := filepath.Join(t.TempDir(), "two.tar.gz")
	if rc := cli([]string{"export", "--out", out2, "--passwords", "--database-url", dst.url, "--data-dir", dst.dir, "--files", "disk"}, nil, &so, &se); rc != 0 {
		t.Fatalf("export again: %d %s", rc, se.String())
	}
	a, _ := os.ReadFile(out1)
	b, _ := os.ReadFile(out2)
	if sha256.Sum256(a) != sha256.Sum256(b) {
		t.Fatalf("the round trip changed the archive (%d bytes, then %d)", len(a), len(b))
	}

	// the restored install serves it all
	dst.start()
	defer dst.stop()
	var login auth
	if code := dst.call("", "POST", "/api/v1/auth/login", map[string]any{"username": "bob", "password": "password bob"}, &login); code != 200 {
		t.Fatalf("bob's sign-in: %d", code)
	}
	var page struct {
		Messages []struct {
			Seq         int64
			Body        string
			ReplyToSeq  *int64  `json:"reply_to_seq"`
			EditedAt    *string `json:"edited_at"`
			Reactions   []struct{ Emoji string }
			Attachments []struct {
				URL          string
				ThumbnailURL *string `json:"thumbnail_url"`
			}
		}
	}
	dst.call(login.Token, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", dm.Conversation.ID), nil, &page)
	if len(page.Messages) != 3 || page.Messages[1].Body != "hello, bob" || page.Messages[1].EditedAt == nil ||
		len(page.Messages[1].Reactions) != 1 || page.Messages[2].ReplyToSeq == nil || len(page.Messages[0].Attachments) != 1 {
		t.Fatalf("the direct chat after the import: %+v", page.Messages)
	}
	req, _ := http.NewRequest("GET", "http://"+dst.app.Addr+page.Messages[0].Attachments[0].URL, nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "meeting notes\n" {
		t.Fatalf("the file after the import: %d %q", res.StatusCode, body)
	}
	var found struct {
		Results []struct{ Message struct{ Body string } }
	}
	dst.call(login.Token, "GET", "/api/v1/search?q=kubernetes+4999", nil, &found)
	if len(found.Results) == 0 {
		t.Fatalf("search after the import found nothing")
	}
	dst.call(login.Token, "GET", "/api/v1/search?q=typo", nil, &found)
	if len(found.Results) != 0 {
		t.Fatalf("search after the import found a deleted message: %+v", found)
	}
	// the bot's secret still works (exported with --passwords), new rows
	// get new ids, and the webhook posts
	var botMe struct{ User struct{ Username string } }
	if code := dst.call(bot.Secret, "GET", "/api/v1/me", nil, &botMe); code != 200 || botMe.User.Username != "cibot" {
		t.Fatalf("the bot after the import: %d %+v", code, botMe)
	}
	if code := dst.call(login.Token, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", dm.Conversation.ID),
		map[string]any{"client_id": "after-import", "body": "we moved"}, nil); code != 201 {
		t.Fatalf("a send after the import: %d", code)
	}
	hookURL := "http://" + dst.app.Addr + hook.Webhook.URL[strings.Index(hook.Webhook.URL, "/hooks/"):]
	res, err = http.Post(hookURL, "application/json", strings.NewReader(`{"text":"deployed"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("the webhook after the import: %d", res.StatusCode)
	}
}
