package chat

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gabriel-vasile/mimetype"

	"github.com/parleychat/parley/server/files"
	"github.com/parleychat/parley/server/images"
	"github.com/parleychat/parley/store"
)

// Files (docs/protocol.md, Files): an upload streams into the file store
// and belongs to its uploader until a message carries it; from then on the
// members of that conversation may read it. Thumbnails are made in the
// background; a deleted message's files, and uploads never sent within a
// day, are deleted by the files worker (files_worker.go).

const (
	maxUploadsPerMessage = 10
	unsentFor            = 24 * time.Hour
	sniffBytes           = 64 << 10 // read ahead to tell the type and an image's size
	// uploadsAtOnce bounds one user's uploads in flight on a node, so the
	// quota, checked as an upload starts, is overrun by at most that many
	// files.
	uploadsAtOnce = 4
)

// inFlight counts each user's uploads under way.
type inFlight struct {
	mu sync.Mutex
	n  map[int64]int
}

func (f *inFlight) enter(user int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[int64]int{}
	}
	if f.n[user] >= uploadsAtOnce {
		return false
	}
	f.n[user]++
	return true
}

func (f *inFlight) leave(user int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[user]--; f.n[user] <= 0 {
		delete(f.n, user)
	}
}

// Attachment is the protocol's Attachment.
type Attachment struct {
	ID           int64   `json:"id"`
	Name         string  `json:"name"`
	ContentType  string  `json:"content_type"`
	Size         int64   `json:"size"`
	Width        *int32  `json:"width"`
	Height       *int32  `json:"height"`
	URL          string  `json:"url"`
	ThumbnailURL *string `json:"thumbnail_url"`
}

func attachmentJSON(f store.File) Attachment {
	a := Attachment{ID: f.ID, Name: f.Name, ContentType: f.ContentType, Size: f.Size, Width: f.Width, Height: f.Height,
		URL: "/api/v1/files/" + strconv.FormatInt(f.ID, 10) + "/" + url.PathEscape(f.Name)}
	if f.ThumbState == "ready" {
		a.ThumbnailURL = thumbnailURL(f.ID)
	}
	return a
}

func thumbnailURL(id int64) *string {
	u := "/api/v1/thumbnails/" + strconv.FormatInt(id, 10)
	return &u
}

// cleanName keeps a file name's last part, without control characters, at
// most 255 characters; "file" when nothing is left.
func cleanName(name string) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "")
	}
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base("/" + name)
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		name = "file"
	}
	if r := []rune(name); len(r) > 255 {
		ext := path.Ext(name)
		if len([]rune(ext)) > 20 {
			ext = ""
		}
		name = string(r[:255-len([]rune(ext))]) + ext
	}
	return name
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// counting hashes and counts what passes through, and stops past limit.
type counting struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	limit int64
}

var (
	errTooBig = errors.New("upload over the limit")
	// errCutOff is a body that ended before its multipart part did (the
	// client went away): told apart from the short read that ends a file.
	errCutOff = errors.New("upload cut off")
)

func (c *counting) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errCutOff
	}
	c.h.Write(p[:k])
	c.n += int64(k)
	if c.n > c.limit {
		return k, errTooBig
	}
	return k, err
}

// Upload streams a file into the store: its type is told from its bytes,
// its name cleaned, its sha256 recorded, an image measured (and its
// thumbnail queued). Per user: a rate, a size limit and a quota.
func (s *Service) Upload(ctx context.Context, me Actor, name string, r io.Reader) (Attachment, error) {
	if ok, after := s.limits.upload.allow(strconv.FormatInt(me.ID(), 10)); !ok {
		return Attachment{}, RateLimited(after)
	}
	if !s.uploading.enter(me.ID()) {
		return Attachment{}, &Error{Code: CodeRateLimited, RetryAfter: time.Second,
			Message: fmt.Sprintf("At most %d uploads at once; wait for one to finish.", uploadsAtOnce)}
	}
	defer s.uploading.leave(me.ID())
	used, err := s.db.UploadedBytes(ctx, me.ID())
	if err != nil {
		return Attachment{}, err
	}
	if s.uploadQuota > 0 && used >= s.uploadQuota {
		return Attachment{}, &Error{Code: CodeTooLarge, Field: "file",
			Message: fmt.Sprintf("Your files take up all of your %d MiB; delete some messages with files first.", s.uploadQuota>>20)}
	}
	c := &counting{r: r, h: sha256.New(), limit: s.maxUpload}
	br := bufio.NewReaderSize(c, sniffBytes)
	head, _ := br.Peek(sniffBytes)
	if len(head) == 0 {
		return Attachment{}, Validation("file", "The file is empty.")
	}
	ctype := mimetype.Detect(head).String()
	if i := strings.IndexByte(ctype, ';'); i >= 0 {
		ctype = ctype[:i]
	}
	key := newKey()
	if err := s.db.LeaseKey(ctx, key); err != nil {
		return Attachment{}, err
	}
	size, err := s.files.Put(ctx, key, br)
	if err != nil {
		s.dropLeased(ctx, key)
		if errors.Is(err, errCutOff) {
			return Attachment{}, Validation("file", "The upload was cut off before its end.")
		}
		if errors.Is(err, errTooBig) || c.n > s.maxUpload {
			return Attachment{}, &Error{Code: CodeTooLarge, Field: "file", Message: fmt.Sprintf("A file is at most %d MiB.", s.maxUpload>>20)}
		}
		return Attachment{}, err
	}
	p := store.CreateFileParams{UploaderID: me.ID(), Name: cleanName(name), ContentType: ctype, Size: size,
		Sha256: c.h.Sum(nil), Key: key, ThumbState: "none"}
	if images.Inline(ctype) {
		if w, h, err := s.imageSize(ctx, key, head, ctype); err == nil {
			w32, h32 := int32(w), int32(h)
			p.Width, p.Height = &w32, &h32
			if int64(w)*int64(h) <= images.MaxPixels {
				p.ThumbState = "pending"
			}
		}
	}
	f, err := s.db.CreateFile(ctx, p)
	if err != nil {
		s.dropLeased(ctx, key)
		return Attachment{}, err
	}
	_ = s.db.ReleaseKey(ctx, key)
	if f.ThumbState == "pending" {
		s.filesWork.thumb(f.ID)
	}
	return attachmentJSON(f), nil
}

// dropLeased deletes bytes no row will refer to, and then their lease;
// when the store fails, the lease has the files worker try again later.
func (s *Service) dropLeased(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := s.files.Delete(ctx, key); err == nil {
		_ = s.db.ReleaseKey(ctx, key)
	}
}

// imageSize reads an image's size from its header: from what was read
// ahead, or from the store when the header is longer.
func (s *Service) imageSize(ctx context.Context, key string, head []byte, ctype string) (int, int, error) {
	if w, h, err := images.Size(strings.NewReader(string(head)), ctype); err == nil {
		return w, h, nil
	}
	f, err := s.files.Open(ctx, key)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	return images.Size(io.LimitReader(f, 4<<20), ctype)
}

// checkUploads checks the uploads a send names: 1–10 of the sender's own,
// not sent yet.
func (s *Service) checkUploads(ctx context.Context, me Actor, ids []int64) ([]Attachment, error) {
	if len(ids) == 0 {
		return []Attachment{}, nil
	}
	if len(ids) > maxUploadsPerMessage {
		return nil, Validation("upload_ids", "A message carries at most 10 files.")
	}
	seen := map[int64]bool{}
	for _, id := range ids {
		if seen[id] {
			return nil, Validation("upload_ids", "A file is named twice.")
		}
		seen[id] = true
	}
	rows, err := s.db.ListUnsentUploads(ctx, store.ListUnsentUploadsParams{Ids: ids, UserID: me.ID()})
	if err != nil {
		return nil, err
	}
	if len(rows) != len(ids) {
		return nil, Validation("upload_ids", "Those are not all your own uploads that are not sent yet.")
	}
	byID := map[int64]store.File{}
	for _, f := range rows {
		byID[f.ID] = f
	}
	out := make([]Attachment, len(ids))
	for i, id := range ids {
		out[i] = attachmentJSON(byID[id])
	}
	return out, nil
}

// OpenedFile is a file to serve.
type OpenedFile struct {
	files.File
	Name        string
	ContentType string
	SHA256      string
	Modified    time.Time
}

// OpenFile opens a file the actor may read (their upload, or one sent in
// a conversation they are in now), or its thumbnail; anything else is 404.
func (s *Service) OpenFile(ctx context.Context, me Actor, id int64, thumbnail bool) (OpenedFile, error) {
	f, err := s.db.GetReadableFile(ctx, store.GetReadableFileParams{ID: id, UserID: me.ID()})
	if err != nil {
		return OpenedFile{}, err
	}
	key, ctype, sum := f.Key, f.ContentType, hex.EncodeToString(f.Sha256)
	if thumbnail {
		if f.ThumbKey == nil || f.ThumbState != "ready" {
			return OpenedFile{}, ErrNotFound
		}
		key, ctype, sum = *f.ThumbKey, thumbType(f.ContentType), sum+"-t"
	}
	file, err := s.files.Open(ctx, key)
	if errors.Is(err, files.ErrNotFound) {
		return OpenedFile{}, ErrNotFound
	} else if err != nil {
		return OpenedFile{}, err
	}
	return OpenedFile{File: file, Name: f.Name, ContentType: ctype, SHA256: sum, Modified: f.CreatedAt}, nil
}

func thumbType(original string) string {
	if original == "image/png" || original == "image/gif" {
		return "image/png"
	}
	return "image/jpeg"
}
