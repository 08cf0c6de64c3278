package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/server/files"
)

type attachment struct {
	ID           int64   `json:"id"`
	Name         string  `json:"name"`
	ContentType  string  `json:"content_type"`
	Size         int64   `json:"size"`
	Width        *int    `json:"width"`
	Height       *int    `json:"height"`
	URL          string  `json:"url"`
	ThumbnailURL *string `json:"thumbnail_url"`
}

func pngOf(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		img.Set(x, x%h, color.RGBA{0, 128, 255, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts a multipart upload and returns the answer.
func (u *user) upload(name string, data []byte) resp {
	u.e.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", name)
	part.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", u.e.ts.URL+"/api/v1/uploads", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+u.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		u.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (u *user) uploaded(name string, data []byte) attachment {
	u.e.t.Helper()
	r := u.upload(name, data)
	if r.Status != 201 {
		u.e.t.Fatalf("upload %s: %d %s", name, r.Status, r.Body)
	}
	var out struct{ Upload attachment }
	r.decode(u.e.t, &out)
	return out.Upload
}

func (u *user) get(path string, h ...string) resp {
	u.e.t.Helper()
	req, _ := http.NewRequest("GET", u.e.ts.URL+path, nil)
	if u.Token != "" {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
	for i := 0; i+1 < len(h); i += 2 {
		req.Header.Set(h[i], h[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		u.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{Status: res.StatusCode, Header: res.Header, Body: b}
}

func diskFiles(t *testing.T) (*files.Disk, string) {
	dir := filepath.Join(t.TempDir(), "files")
	d, err := files.NewDisk(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d, dir
}

func TestUploads(t *testing.T) {
	d, _ := diskFiles(t)
	e := newEnv(t, func(o *server.Options) {
		o.Files, o.MaxUpload, o.UploadQuota = d, 1<<20, 3<<20
		o.Limits.Upload = chat.Rate{Per: 0.01, Burst: 12}
	})
	alice := e.user("alice")
	// the type comes from the bytes, not the name; names are cleaned
	a := alice.uploaded("../../etc/photo\t.txt", pngOf(t, 640, 480))
	if a.ContentType != "image/png" || a.Name != "photo.txt" || a.Width == nil || *a.Width != 640 || *a.Height != 480 {
		t.Fatalf("upload %+v", a)
	}
	b := alice.uploaded(`C:\Users\me\notes.png`, []byte("just some text\n"))
	if !strings.HasPrefix(b.ContentType, "text/plain") || b.Name != "notes.png" || b.Width != nil {
		t.Fatalf("upload %+v", b)
	}
	// empty, too large, and not a form
	for _, c := range []struct {
		data   []byte
		status int
		code   string
	}{{nil, 400, "validation_failed"}, {make([]byte, 1<<20+1), 413, "too_large"}} {
		r := alice.upload("x.bin", c.data)
		if code, _ := r.errCode(t); r.Status != c.status || code != c.code {
			t.Fatalf("%d bytes: %d %s", len(c.data), r.Status, code)
		}
	}
	alice.must(400, "POST", "/api/v1/uploads", map[string]any{"file": "x"})
	// the quota: 3 MiB in all
	for range 3 {
		alice.uploaded("big.bin", make([]byte, 1<<20-100))
	}
	if r := alice.upload("more.bin", []byte("x")); r.Status != 413 {
		t.Fatalf("over the quota: %d %s", r.Status, r.Body)
	}
	// the rate
	bob := e.user("bob")
	for range 12 {
		bob.uploaded("f.txt", []byte("hello"))
	}
	if r := bob.upload("f.txt", []byte("hello")); r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("over the rate: %d", r.Status)
	}
}

func TestFilesInMessages(t *testing.T) {
	d, dir := diskFiles(t)
	e := newEnv(t, func(o *server.Options) { o.Files = d })
	alice, bob, eve := e.user("alice"), e.user("bob"), e.user("eve")
	conv := alice.direct(bob)
	img := alice.uploaded("cat.png", pngOf(t, 1200, 800))
	pdf := alice.uploaded("report.pdf", []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"))
	svg := alice.uploaded("logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`))
	// before it is sent, only the uploader reads it
	if r := alice.get(img.URL); r.Status != 200 {
		t.Fatalf("the uploader reads their upload: %d", r.Status)
	}
	bob.must(404, "GET", img.URL, nil)
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)
	// someone else's uploads cannot be sent
	if _, field := bob.must(400, "POST", path, map[string]any{"client_id": "steal", "upload_ids": []int64{img.ID}}).errCode(t); field != "upload_ids" {
		t.Fatal(field)
	}
	var out struct {
		Message struct {
			Seq         int64
			Body        string
			Attachments []attachment
		}
	}
	bw := e.dial(bob.Token)
	alice.must(201, "POST", path, map[string]any{"client_id": "files", "upload_ids": []int64{img.ID, pdf.ID, svg.ID}}).decode(t, &out)
	if out.Message.Body != "" || len(out.Message.Attachments) != 3 || out.Message.Attachments[0].ID != img.ID {
		t.Fatalf("sent %+v", out.Message)
	}
	bw.expect("message.created", "presence", "conversation.updated")
	// a retry of the send answers the stored message; nothing is attached twice
	var again struct {
		Message struct {
			Seq         int64
			Attachments []attachment
		}
	}
	alice.must(200, "POST", path, map[string]any{"client_id": "files", "upload_ids": []int64{img.ID, pdf.ID, svg.ID}}).decode(t, &again)
	if again.Message.Seq != out.Message.Seq || len(again.Message.Attachments) != 3 {
		t.Fatalf("retry %+v", again.Message)
	}
	// a file goes once
	alice.must(400, "POST", path, map[string]any{"client_id": "again", "upload_ids": []int64{img.ID}})
	alice.must(400, "POST", path, map[string]any{"client_id": "many", "upload_ids": []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}})
	alice.must(400, "POST", path, map[string]any{"client_id": "none", "body": ""})

	// the member reads it now, with the protocol's headers
	r := bob.get(img.URL)
	if r.Status != 200 || r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") ||
		!strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") || r.Header.Get("Content-Type") != "image/png" ||
		!strings.Contains(r.Header.Get("Cache-Control"), "private") {
		t.Fatalf("image headers %v", r.Header)
	}
	if pr := bob.get(pdf.URL); !strings.HasPrefix(pr.Header.Get("Content-Disposition"), "attachment") || pr.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("pdf headers %v", pr.Header)
	}
	if sr := bob.get(svg.URL); !strings.HasPrefix(sr.Header.Get("Content-Disposition"), "attachment") || sr.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("svg headers %v", sr.Header)
	}
	// Range and ETag
	if rr := bob.get(img.URL, "Range", "bytes=0-9"); rr.Status != 206 || len(rr.Body) != 10 {
		t.Fatalf("range: %d %d", rr.Status, len(rr.Body))
	}
	if nr := bob.get(img.URL, "If-None-Match", r.Header.Get("ETag")); nr.Status != 304 {
		t.Fatalf("if-none-match: %d", nr.Status)
	}
	// strangers and anonymous requests learn nothing
	eve.must(404, "GET", img.URL, nil)
	anon := &user{client: e.client()}
	if ar := anon.get(img.URL); ar.Status != 404 {
		t.Fatalf("anonymous: %d", ar.Status)
	}
	// the thumbnail comes, at most 400 px, and the message says so
	deadline := time.Now().Add(10 * time.Second)
	var thumb string
	for thumb == "" {
		var m struct {
			Message struct{ Attachments []attachment }
		}
		bob.must(200, "GET", fmt.Sprintf("%s/%d", path, out.Message.Seq), nil).decode(t, &m)
		if u := m.Message.Attachments[0].ThumbnailURL; u != nil {
			thumb = *u
		} else if time.Now().After(deadline) {
			t.Fatal("no thumbnail")
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if out.Message.Attachments[0].ThumbnailURL == nil { // else it was made before the send
		bw.expect("message.updated", "presence", "receipt")
	}
	tr := bob.get(thumb)
	cfg, _, err := image.DecodeConfig(bytes.NewReader(tr.Body))
	if tr.Status != 200 || err != nil || cfg.Width != 400 || cfg.Height != 266 {
		t.Fatalf("thumbnail %d %dx%d %v", tr.Status, cfg.Width, cfg.Height, err)
	}
	// a removed member, and one who cleared the chat, lose access at once
	bob.must(204, "POST", fmt.Sprintf("/api/v1/conversations/%d/clear", conv.ID), nil)
	bob.must(404, "GET", img.URL, nil)
	bob.must(404, "GET", thumb, nil)

	// deleting the message deletes its files, bytes and all
	alice.must(204, "DELETE", fmt.Sprintf("%s/%d", path, out.Message.Seq), nil)
	alice.must(404, "GET", img.URL, nil)
	deadline = time.Now().Add(10 * time.Second)
	for {
		n := 0
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				n++
			}
			return nil
		})
		var rows int
		e.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT (SELECT count(*) FROM files) + (SELECT count(*) FROM file_deletions)").Scan(&rows)
		if n == 0 && rows == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d files left on disk and %d rows after the delete", n, rows)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRemovedMemberLosesFiles: a file of a channel is the channel's.
func TestRemovedMemberLosesFiles(t *testing.T) {
	ge := newGroup(t)
	a := ge.owner.uploaded("plan.txt", []byte("the plan"))
	ge.owner.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", ge.general()), map[string]any{"client_id": "p", "body": "the plan", "upload_ids": []int64{a.ID}})
	if r := ge.member.get(a.URL); r.Status != 200 || string(r.Body) != "the plan" {
		t.Fatalf("member: %d", r.Status)
	}
	ge.admin.must(204, "DELETE", ge.path(fmt.Sprintf("/members/%d", ge.member.ID)), nil)
	ge.member.must(404, "GET", a.URL, nil)
	ge.removed.must(404, "GET", a.URL, nil)
}

// waitNoFiles waits until no file rows, stored chunks or queued deletions
// are left (the postgres store).
func waitNoFiles(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var f, c, d int
		e.srv.Accounts().DB.Pool.QueryRow(context.Background(),
			"SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM file_chunks), (SELECT count(*) FROM file_deletions)").Scan(&f, &c, &d)
		if f+c+d == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d files, %d chunks, %d deletions left", f, c, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDeletedChannelErasesFiles: deleting a channel, or its group, deletes
// the files sent in it, bytes and all.
func TestDeletedChannelErasesFiles(t *testing.T) {
	ge := newGroup(t)
	var ch struct{ Conversation struct{ ID int64 } }
	ge.owner.must(201, "POST", ge.path("/channels"), map[string]any{"name": "design"}).decode(t, &ch)
	for i, conv := range []int64{ch.Conversation.ID, ge.general()} {
		a := ge.owner.uploaded("plan.png", pngOf(t, 800, 600))
		ge.owner.must(201, "POST", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), map[string]any{"client_id": fmt.Sprint("f", i), "upload_ids": []int64{a.ID}})
	}
	ge.owner.must(204, "DELETE", ge.path(fmt.Sprintf("/channels/%d", ch.Conversation.ID)), nil)
	var left int
	e := ge.e
	e.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM files").Scan(&left)
	if left != 1 {
		t.Fatalf("%d files after the channel went, want the other channel's one", left)
	}
	ge.owner.must(204, "DELETE", ge.path(""), nil)
	waitNoFiles(t, e)
}

// TestOneUploadTwoSends: two sends racing with the same upload: one gets
// it, the other is refused, and no message goes out without its files.
func TestOneUploadTwoSends(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.user("alice"), e.user("bob")
	conv := alice.direct(bob)
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)
	for round := range 5 {
		a := alice.uploaded("one.txt", []byte("only once"))
		codes := make(chan int, 2)
		for i := range 2 {
			go func() {
				body, _ := json.Marshal(map[string]any{"client_id": fmt.Sprintf("r%d-%d", round, i), "upload_ids": []int64{a.ID}})
				req, _ := http.NewRequest("POST", e.ts.URL+path, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+alice.Token)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					codes <- 0
					return
				}
				res.Body.Close()
				codes <- res.StatusCode
			}()
		}
		c1, c2 := <-codes, <-codes
		if c1+c2 != 201+400 {
			t.Fatalf("round %d: %d and %d, want one 201 and one 400", round, c1, c2)
		}
	}
	var n, empty int
	e.srv.Accounts().DB.Pool.QueryRow(context.Background(),
		"SELECT count(*), count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.message_id = m.id)) FROM messages m").Scan(&n, &empty)
	if n != 5 || empty != 0 {
		t.Fatalf("%d messages, %d without their file", n, empty)
	}
}

// TestUploadCutOffAndInFlight: an upload whose body ends early is a 400 and
// leaves nothing; a user has at most 4 uploads under way at once.
func TestUploadCutOffAndInFlight(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice")
	head := func(mw *multipart.Writer) []byte {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		w.SetBoundary(mw.Boundary())
		w.CreateFormFile("file", "part.bin")
		return b.Bytes()
	}
	// cut off: the connection stops sending halfway through the declared length
	conn, err := net.Dial("tcp", e.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	mw := multipart.NewWriter(io.Discard)
	h := head(mw)
	fmt.Fprintf(conn, "POST /api/v1/uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n",
		alice.Token, mw.FormDataContentType(), len(h)+1<<20)
	conn.Write(h)
	conn.Write(make([]byte, 300<<10))
	conn.(*net.TCPConn).CloseWrite()
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	conn.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), "cut off") {
		t.Fatalf("cut off: %d %s", res.StatusCode, b)
	}
	waitNoFiles(t, e)

	// four uploads held open; a fifth is told to wait
	type held struct {
		w    *io.PipeWriter
		done chan int
	}
	var open []held
	for range 4 {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(io.Discard)
		req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/uploads", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("Authorization", "Bearer "+alice.Token)
		hd := held{w: pw, done: make(chan int, 1)}
		go func() {
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				hd.done <- 0
				return
			}
			res.Body.Close()
			hd.done <- res.StatusCode
		}()
		go func() { pw.Write(head(mw)); pw.Write(make([]byte, 300<<10)) }()
		open = append(open, hd)
	}
	// all four are in once each has a chunk stored
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		e.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(DISTINCT key) FROM file_chunks").Scan(&n)
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d uploads under way, want 4", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if r := alice.upload("fifth.txt", []byte("five")); r.Status != 429 || r.Header.Get("Retry-After") == "" || !strings.Contains(string(r.Body), "at once") {
		t.Fatalf("a fifth upload at once: %d %s", r.Status, r.Body)
	}
	for _, hd := range open {
		hd.w.Close() // cut off too
		<-hd.done
	}
	alice.uploaded("after.txt", []byte("room again"))
}
