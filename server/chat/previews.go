package chat

import (
	"bytes"
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/server/images"
	"github.com/parleychat/parley/store"
)

// Link previews (docs/protocol.md, Link previews): after a message with
// links is stored, a worker fetches the first three pages (through a
// Previewer that refuses private addresses), keeps what it read for a day
// per URL, and gives the message a new version with its previews. The send
// never waits for any of it.

// Previewer fetches what previews show. Implementations must refuse to
// reach private, loopback and otherwise reserved addresses.
type Previewer interface {
	Page(ctx context.Context, url string) (PagePreview, error)
	Image(ctx context.Context, url string) ([]byte, string, error)
}

// PagePreview is what a page says of itself.
type PagePreview struct {
	Title, Description, SiteName, Image string
}

// Preview is the protocol's Preview.
type Preview struct {
	URL         string  `json:"url"`
	Title       string  `json:"title"`
	Description *string `json:"description"`
	SiteName    *string `json:"site_name"`
	ImageURL    *string `json:"image_url"`
}

const maxPreviews = 3

var (
	linkRe     = regexp.MustCompile(`https?://[^\s<>"'\x60]+`)
	inlineCode = regexp.MustCompile("`[^`]*`")
)

// links are the first http(s) links of a body, outside code.
func links(body string) []string {
	var out []string
	seen := map[string]bool{}
	fence := false
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		line = inlineCode.ReplaceAllString(line, " ")
		for _, l := range linkRe.FindAllString(line, -1) {
			l = strings.TrimRight(l, ".,;:!?)]*_~")
			if u, err := url.Parse(l); err != nil || u.Host == "" || seen[l] {
				continue
			}
			seen[l] = true
			out = append(out, l)
			if len(out) == maxPreviews {
				return out
			}
		}
	}
	return out
}

type previewJob struct {
	message int64
	urls    []string
}

type previewWorker struct {
	s    *Service
	jobs chan previewJob
}

func newPreviewWorker(s *Service) *previewWorker {
	return &previewWorker{s: s, jobs: make(chan previewJob, 256)}
}

// queue asks for a message's previews, if it has links and previews are on.
func (w *previewWorker) queue(m Message) {
	if m.Deleted || w.s.previewer == nil { // no body scanned when previews are off
		return
	}
	w.queueLinks(m.ID, links(m.Body))
}

// queueLinks asks for the previews of some of a message's links.
func (w *previewWorker) queueLinks(message int64, urls []string) {
	if w.s.previewer == nil || len(urls) == 0 {
		return
	}
	select {
	case w.jobs <- previewJob{message: message, urls: urls}:
	default:
		w.s.warn("link previews skipped: the queue is full")
	}
}

func (w *previewWorker) run() {
	for {
		select {
		case <-w.s.stop:
			return
		case j := <-w.jobs:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := w.s.makePreviews(ctx, j); err != nil {
				w.s.warn("link previews failed", "err", err)
			}
			cancel()
		}
	}
}

func (s *Service) makePreviews(ctx context.Context, j previewJob) error {
	var ok []string
	for _, u := range j.urls {
		lp, err := s.db.GetLinkPreview(ctx, u)
		if store.IsNotFound(err) {
			lp, err = s.fetchPreview(ctx, u)
		}
		if err != nil {
			return err
		}
		if lp.Ok {
			ok = append(ok, u)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	return s.change(ctx, func(q *store.Queries, ob *outbox) error {
		// the message as it is now: deleted, edited, or its previews taken
		// off while the pages were fetched
		m, err := q.LockMessageByID(ctx, j.message)
		if store.IsNotFound(err) || (err == nil && (m.Deleted || m.PreviewsOff)) {
			return nil
		} else if err != nil {
			return err
		}
		still := map[string]bool{}
		for _, u := range links(m.Body) {
			still[u] = true
		}
		var want []string
		for _, u := range ok {
			if still[u] {
				want = append(want, u)
			}
		}
		if len(want) == 0 {
			return nil
		}
		n, err := q.SetMessagePreviews(ctx, store.SetMessagePreviewsParams{MessageID: j.message, Urls: want})
		if err != nil || n == 0 {
			return err
		}
		return bump(ctx, q, ob, j.message)
	})
}

// fetchPreview reads a page (and its image, made small and kept here) and
// keeps what it found, or that it found nothing, for a day.
func (s *Service) fetchPreview(ctx context.Context, u string) (store.LinkPreview, error) {
	p := store.PutLinkPreviewParams{Url: u}
	page, err := s.previewer.Page(ctx, u)
	if err == nil && page.Title != "" {
		p.Ok, p.Title = true, page.Title
		if page.Description != "" {
			p.Description = &page.Description
		}
		if page.SiteName != "" {
			p.SiteName = &page.SiteName
		}
		if page.Image != "" {
			if data, ctype, err := s.previewer.Image(ctx, page.Image); err == nil && images.Inline(ctype) {
				if thumb, err := s.thumbnail(data, ctype); err == nil {
					if key, err := s.putLeased(ctx, bytes.NewReader(thumb)); err == nil {
						p.ImageKey = &key
					}
				}
			}
		}
	}
	// an image it replaces is queued for deletion by a trigger
	out, err := s.db.PutLinkPreview(ctx, p)
	if err == nil && p.ImageKey != nil {
		_ = s.db.ReleaseKey(ctx, *p.ImageKey)
	}
	return out, err
}

func previewsJSON(m store.Message, rows []store.ListMessagePreviewsRow) []Preview {
	out := make([]Preview, 0, len(rows))
	for i, r := range rows {
		p := Preview{URL: r.Url, Title: r.Title, Description: r.Description, SiteName: r.SiteName}
		if r.ImageKey != nil {
			img := "/api/v1/conversations/" + strconv.FormatInt(m.ConversationID, 10) + "/messages/" +
				strconv.FormatInt(m.Seq, 10) + "/previews/" + strconv.Itoa(i+1) + "/image?v=" + (*r.ImageKey)[:min(12, len(*r.ImageKey))]
			p.ImageURL = &img
		}
		out = append(out, p)
	}
	return out
}

// OpenPreviewImage opens the image of a message's nth preview (from 1),
// for a member who may read the message.
func (s *Service) OpenPreviewImage(ctx context.Context, me Actor, convID, seq int64, n int) (OpenedFile, error) {
	m, _, err := readable(ctx, s.db.Queries, me, convID, seq, false)
	if err != nil {
		return OpenedFile{}, err
	}
	rows, err := s.db.ListMessagePreviews(ctx, []int64{m.ID})
	if err != nil {
		return OpenedFile{}, err
	}
	if n < 1 || n > len(rows) || rows[n-1].ImageKey == nil {
		return OpenedFile{}, ErrNotFound
	}
	f, err := s.files.Open(ctx, *rows[n-1].ImageKey)
	if err != nil {
		return OpenedFile{}, ErrNotFound
	}
	// the type is told from the bytes when served (a JPEG or a PNG)
	return OpenedFile{File: f, Name: "preview", SHA256: *rows[n-1].ImageKey, Modified: rows[n-1].FetchedAt}, nil
}

// RemovePreviews takes the previews off one's own message.
func (s *Service) RemovePreviews(ctx context.Context, me Actor, convID, seq int64) error {
	return s.change(ctx, func(q *store.Queries, ob *outbox) error {
		m, _, err := readable(ctx, q, me, convID, seq, true)
		if err != nil {
			return err
		}
		if m.SenderID != me.ID() {
			return NewError(CodeForbidden, "Only its sender may remove a message's previews.")
		}
		n, err := q.ClearMessagePreviews(ctx, m.ID)
		if err != nil || n == 0 {
			return err
		}
		return bump(ctx, q, ob, m.ID)
	})
}
