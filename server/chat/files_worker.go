package chat

import (
	"bytes"
	"context"
	"io"
	"sync"
	"time"

	"github.com/parleychat/parley/server/images"
	"github.com/parleychat/parley/store"
)

// filesWorker makes thumbnails (one at a time: decoding is what costs
// memory) and deletes the bytes of files that are gone: a deleted
// message's, and uploads never sent within a day. Thumbnails a node did
// not finish (it stopped) are picked up by any node a minute later.
type filesWorker struct {
	s      *Service
	mu     sync.Mutex
	queue  []int64
	queued map[int64]bool
	wake   chan struct{}
	gone   chan struct{}
}

func newFilesWorker(s *Service) *filesWorker {
	return &filesWorker{s: s, queued: map[int64]bool{}, wake: make(chan struct{}, 1), gone: make(chan struct{}, 1)}
}

func (w *filesWorker) thumb(id int64) {
	w.mu.Lock()
	if !w.queued[id] {
		w.queued[id] = true
		w.queue = append(w.queue, id)
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// deleted says file bytes wait in file_deletions.
func (w *filesWorker) deleted() {
	select {
	case w.gone <- struct{}{}:
	default:
	}
}

func (w *filesWorker) run() {
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	lastPurge := time.Time{}
	for {
		select {
		case <-w.s.stop:
			return
		case <-w.wake:
			w.thumbnails()
		case <-w.gone:
			w.deleteBytes()
		case <-tick.C:
			if time.Since(lastPurge) > 10*time.Minute {
				lastPurge = time.Now()
				w.purgeUnsent()
			}
			w.pickUpStale()
			w.thumbnails()
			w.deleteBytes()
		}
	}
}

func (w *filesWorker) thumbnails() {
	for {
		w.mu.Lock()
		if len(w.queue) == 0 {
			w.mu.Unlock()
			return
		}
		id := w.queue[0]
		w.queue = w.queue[1:]
		delete(w.queued, id)
		w.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		if err := w.s.makeThumbnail(ctx, id); err != nil {
			w.s.warn("thumbnail failed", "file_id", id, "err", err)
		}
		cancel()
	}
}

func (w *filesWorker) pickUpStale() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = w.s.db.GiveUpThumbnails(ctx)
	ids, err := w.s.db.ListPendingThumbnails(ctx)
	if err != nil {
		return
	}
	for _, id := range ids {
		w.thumb(id)
	}
}

func (w *filesWorker) purgeUnsent() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := w.s.db.DropStaleUploads(ctx, unsentFor.Seconds())
	if err != nil {
		w.s.warn("unsent uploads not purged", "err", err)
	} else if n > 0 {
		w.s.log.Info("unsent uploads purged", "count", n)
		w.deleted()
	}
	if n, err := w.s.db.DropStalePreviews(ctx); err != nil {
		w.s.warn("old link previews not purged", "err", err)
	} else if n > 0 {
		w.deleted()
	}
}

// deleteBytes deletes from the store what file_deletions lists.
func (w *filesWorker) deleteBytes() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		keys, err := w.s.db.ListFileDeletions(ctx, 100)
		if err != nil || len(keys) == 0 {
			return
		}
		var done []string
		for _, k := range keys {
			if !k.Referenced { // a lease whose bytes were kept: struck off only
				if err := w.s.files.Delete(ctx, k.Key); err != nil {
					w.s.warn("file bytes not deleted", "err", err)
					continue
				}
			}
			done = append(done, k.Key)
		}
		if err := w.s.db.DoneFileDeletions(ctx, done); err != nil || len(done) < len(keys) {
			return
		}
	}
}

// makeThumbnail makes a file's thumbnail; if a message carries the file by
// then, the message gets a new version with it.
func (s *Service) makeThumbnail(ctx context.Context, id int64) error {
	f, err := s.db.ClaimThumbnail(ctx, id)
	if store.IsNotFound(err) {
		return nil // deleted meanwhile, made, given up, or another node has it
	} else if err != nil {
		return err
	}
	if f.Size > images.MaxSourceBytes {
		_, _ = s.db.SetThumbnail(ctx, store.SetThumbnailParams{ID: id, ThumbState: "failed"})
		return nil
	}
	fail := func(err error) error {
		_, _ = s.db.SetThumbnail(ctx, store.SetThumbnailParams{ID: id, ThumbState: "failed"})
		return err
	}
	src, err := s.files.Open(ctx, f.Key)
	if err != nil {
		return fail(err)
	}
	data, err := io.ReadAll(io.LimitReader(src, images.MaxSourceBytes+1))
	src.Close()
	if err != nil {
		return fail(err)
	}
	thumb, err := s.thumbnail(data, f.ContentType)
	if err != nil {
		return fail(err)
	}
	key, err := s.putLeased(ctx, bytes.NewReader(thumb))
	if err != nil {
		return fail(err)
	}
	f, err = s.db.SetThumbnail(ctx, store.SetThumbnailParams{ID: id, ThumbKey: &key, ThumbState: "ready"})
	if store.IsNotFound(err) { // deleted meanwhile, or made by another node
		s.dropLeased(ctx, key)
		return nil
	} else if err != nil {
		return err // the lease takes the bytes back
	}
	_ = s.db.ReleaseKey(ctx, key)
	if f.MessageID == nil {
		return nil
	}
	return s.change(ctx, func(q *store.Queries, ob *outbox) error {
		return bump(ctx, q, ob, *f.MessageID)
	})
}

// putLeased stores bytes under a new key with a lease: should no row come
// to refer to them within a day (a crash, a failed transaction), the
// deletion worker takes them back. The caller releases the lease once a
// row refers to the key.
func (s *Service) putLeased(ctx context.Context, r io.Reader) (string, error) {
	key := newKey()
	if err := s.db.LeaseKey(ctx, key); err != nil {
		return "", err
	}
	if _, err := s.files.Put(ctx, key, r); err != nil {
		s.dropLeased(ctx, key)
		return "", err
	}
	return key, nil
}

// decodeSlot lets one image decode run at a time on a node (thumbnails
// and preview images alike): decoding is what costs memory.
var decodeSlot = make(chan struct{}, 1)

func (s *Service) thumbnail(data []byte, ctype string) ([]byte, error) {
	select {
	case decodeSlot <- struct{}{}:
	case <-s.stop:
		return nil, ErrUnavailable
	}
	defer func() { <-decodeSlot }()
	thumb, _, err := images.Thumbnail(data, ctype)
	return thumb, err
}
