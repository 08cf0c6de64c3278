package server_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/parleychat/parley/server"
	"github.com/parleychat/parley/server/linkpreview"
)

type preview struct {
	URL         string
	Title       string
	Description *string
	SiteName    *string `json:"site_name"`
	ImageURL    *string `json:"image_url"`
}

type previewed struct {
	Message struct {
		Seq      int64
		Version  int64
		Previews []preview
	}
}

// TestLinkPreviews: a link gets a preview after the send, fetched once per
// URL, with its image kept here and served to members only; the sender
// may take previews off; an edit keeps the previews of links it keeps.
func TestLinkPreviews(t *testing.T) {
	var pageHits, otherHits atomic.Int32
	img := pngOf(t, 1200, 630)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/article":
			pageHits.Add(1)
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><head><title>fallback</title>
<meta property="og:title" content="Parley 2.0 is out">
<meta property="og:description" content="Everything new.">
<meta property="og:site_name" content="Parley Blog">
<meta property="og:image" content="/card.png"></head><body></body></html>`)
		case "/other":
			otherHits.Add(1)
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<title>Another page</title>`)
		case "/card.png":
			w.Write(img)
		case "/data.json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{}`)
		}
	}))
	defer site.Close()
	e := newEnv(t, func(o *server.Options) {
		o.Previews = linkpreview.New(netip.MustParsePrefix("127.0.0.0/8"))
	})
	alice, bob, eve := e.user("alice"), e.user("bob"), e.user("eve")
	conv := alice.direct(bob)
	path := fmt.Sprintf("/api/v1/conversations/%d/messages", conv.ID)
	bw := e.dial(bob.Token)

	// the send answers at once, with no previews; they come as an update
	var sent previewed
	body := fmt.Sprintf("read %s/article, not `%s/other` and %s/data.json", site.URL, site.URL, site.URL)
	alice.must(201, "POST", path, map[string]any{"client_id": "p1", "body": body}).decode(t, &sent)
	if len(sent.Message.Previews) != 0 {
		t.Fatalf("the send waited for previews: %+v", sent.Message.Previews)
	}
	bw.expect("message.created", "presence", "conversation.updated")
	var up struct{ Message previewedMessage }
	bw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &up)
	ps := up.Message.Previews
	if len(ps) != 1 || ps[0].Title != "Parley 2.0 is out" || ps[0].URL != site.URL+"/article" || ps[0].Description == nil ||
		*ps[0].Description != "Everything new." || ps[0].SiteName == nil || *ps[0].SiteName != "Parley Blog" || ps[0].ImageURL == nil {
		t.Fatalf("previews %+v", ps)
	}
	if up.Message.Version <= sent.Message.Version {
		t.Fatalf("version %d after %d", up.Message.Version, sent.Message.Version)
	}
	imageURL := *ps[0].ImageURL
	if otherHits.Load() != 0 {
		t.Fatal("a link in code was fetched")
	}
	// the image is kept here, made small, for members only
	r := bob.get(*ps[0].ImageURL)
	cfg, _, err := image.DecodeConfig(bytes.NewReader(r.Body))
	if r.Status != 200 || err != nil || cfg.Width != 400 || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("preview image %d %v %v", r.Status, cfg, err)
	}
	eve.must(404, "GET", *ps[0].ImageURL, nil)
	if ar := (&user{client: e.client()}).get(*ps[0].ImageURL); ar.Status != 404 {
		t.Fatalf("anonymous: %d", ar.Status)
	}
	alice.must(404, "GET", fmt.Sprintf("%s/%d/previews/2/image", path, sent.Message.Seq), nil)

	// the same link again is not fetched again
	alice.must(201, "POST", path, map[string]any{"client_id": "p2", "body": "again: " + site.URL + "/article"})
	bw.expect("message.created", "presence", "conversation.updated")
	bw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &up)
	if len(up.Message.Previews) != 1 || pageHits.Load() != 1 {
		t.Fatalf("%d previews, %d fetches", len(up.Message.Previews), pageHits.Load())
	}

	// only the sender takes previews off
	one := fmt.Sprintf("%s/%d", path, sent.Message.Seq)
	bob.must(403, "DELETE", one+"/previews", nil)
	alice.must(204, "DELETE", one+"/previews", nil)
	bw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &up)
	if len(up.Message.Previews) != 0 {
		t.Fatalf("previews after removal %+v", up.Message.Previews)
	}
	bob.must(404, "GET", imageURL, nil)
	var got previewed
	bob.must(200, "GET", one, nil).decode(t, &got)
	if len(got.Message.Previews) != 0 {
		t.Fatal("the removed preview came back")
	}
	// taken off for good: an edit with a new link fetches nothing for it
	alice.must(200, "PATCH", one, map[string]any{"body": body + " and " + site.URL + "/other"})
	bw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &up)
	if len(up.Message.Previews) != 0 {
		t.Fatalf("previews after the edit %+v", up.Message.Previews)
	}
	// (the worker takes jobs in order: once a later message has its
	// preview, an earlier job would have been done)
	var later previewed
	alice.must(201, "POST", path, map[string]any{"client_id": "p-after", "body": "later " + site.URL + "/article"}).decode(t, &later)
	bw.expect("message.created", "presence", "conversation.updated", "receipt")
	bw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &up)
	if up.Message.Seq == sent.Message.Seq {
		t.Fatalf("previews came back after the edit: %+v", up.Message.Previews)
	}
	bob.must(200, "GET", one, nil).decode(t, &got)
	if len(got.Message.Previews) != 0 || otherHits.Load() != 0 {
		t.Fatalf("previews %+v after the edit, %d fetches of the new link", got.Message.Previews, otherHits.Load())
	}

	// an edit that adds a link gets its preview; one that drops it loses it
	var p3 previewed
	alice.must(201, "POST", path, map[string]any{"client_id": "p3", "body": "no link yet"}).decode(t, &p3)
	bw.expect("message.created", "presence", "conversation.updated", "receipt")
	three := fmt.Sprintf("%s/%d", path, p3.Message.Seq)
	alice.must(200, "PATCH", three, map[string]any{"body": "now " + site.URL + "/other"})
	bw.expect("message.updated", "presence", "receipt", "conversation.updated")
	bw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &up)
	if len(up.Message.Previews) != 1 || up.Message.Previews[0].Title != "Another page" || up.Message.Previews[0].ImageURL != nil {
		t.Fatalf("previews after the edit %+v", up.Message.Previews)
	}
	alice.must(200, "PATCH", three, map[string]any{"body": "no link after all"})
	bw.expect("message.updated", "presence", "receipt", "conversation.updated").decode(t, &up)
	if len(up.Message.Previews) != 0 {
		t.Fatalf("previews after the link went %+v", up.Message.Previews)
	}
	// a deleted message keeps no previews
	alice.must(204, "DELETE", fmt.Sprintf("%s/%d", path, sent.Message.Seq+1), nil)
	alice.must(204, "DELETE", fmt.Sprintf("%s/%d", path, later.Message.Seq), nil)
	var n int
	e.srv.Accounts().DB.Pool.QueryRow(context.Background(), "SELECT count(*) FROM message_previews").Scan(&n)
	if n != 0 {
		t.Fatalf("%d message previews left", n)
	}
}

type previewedMessage struct {
	Seq      int64
	Version  int64
	Previews []preview
}
