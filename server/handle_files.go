package server

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/parleychat/parley/server/chat"
	"github.com/parleychat/parley/server/images"
)

// Upload bodies are bounded by a rate, not a time: a big file over a slow
// line is fine, a trickle is not.
const (
	uploadIdle    = 10 * time.Second // a read must bring something within this
	uploadMinRate = 16 << 10         // bytes per second, on average, after uploadIdle
)

// slowGuard cuts off an upload that stalls or trickles.
type slowGuard struct {
	r     io.Reader
	rc    *http.ResponseController
	start time.Time
	n     int64
}

func (g *slowGuard) Read(p []byte) (int, error) {
	_ = g.rc.SetReadDeadline(time.Now().Add(uploadIdle))
	k, err := g.r.Read(p)
	g.n += int64(k)
	if el := time.Since(g.start); el > uploadIdle && float64(g.n) < uploadMinRate*el.Seconds() {
		return k, errSlowBody
	}
	return k, err
}

// handleUpload streams the multipart part named "file" into the store:
// no whole file in memory.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUpload+1<<20) // the part's headers and the boundary besides
	guard := &slowGuard{r: r.Body, rc: http.NewResponseController(w), start: time.Now()}
	r.Body = io.NopCloser(guard)
	mr, err := r.MultipartReader()
	if err != nil {
		s.respondError(w, r, chat.Validation("file", "Send the file as multipart/form-data, in a part named file."))
		return
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			s.respondError(w, r, chat.Validation("file", "No part named file."))
			return
		}
		if err != nil {
			if e := uploadErr(err); e != err {
				s.respondError(w, r, e)
			} else { // the form itself is broken
				s.respondError(w, r, chat.Validation("file", "The multipart body is malformed."))
			}
			return
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		a, err := s.chat.Upload(r.Context(), actor(r.Context()), part.FileName(), part)
		if err != nil {
			s.respondError(w, r, uploadErr(err))
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"upload": a})
		return
	}
}

func uploadErr(err error) error {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return chat.NewError(chat.CodeTooLarge, "The file is over the upload limit.")
	case errors.Is(err, errSlowBody):
		return errSlowBody
	case errors.Is(err, multipart.ErrMessageTooLarge):
		return chat.NewError(chat.CodeTooLarge, "The form is too large.")
	}
	return err
}

// downloadIdle is how long a download may wait on a client that reads
// nothing: each write must go out within it.
const downloadIdle = 30 * time.Second

// deadlineWriter moves the write deadline on before each write, so a big
// download over a slow line is fine and a client that stops reading is
// dropped.
type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(downloadIdle))
	return d.ResponseWriter.Write(p)
}

// serveFile answers a file's bytes with the protocol's headers: no type
// sniffing, a sandbox, inline only for raster images, Range and ETag.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, f chat.OpenedFile) {
	defer f.Close()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'; style-src 'unsafe-inline'")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+f.SHA256+`"`)
	ctype := f.ContentType
	if ctype == "" { // told from the bytes
		head := make([]byte, 512)
		n, _ := io.ReadFull(f, head)
		ctype = http.DetectContentType(head[:n])
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			s.respondError(w, r, err)
			return
		}
	}
	disposition := "inline"
	if !images.Inline(ctype) {
		// the type is in the attachment's content_type; the answer is bytes
		// to save, never something a browser renders (a PDF, XML, a page)
		disposition, ctype = "attachment", "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": f.Name}))
	rc := http.NewResponseController(w)
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	http.ServeContent(&deadlineWriter{ResponseWriter: w, rc: rc}, r, "", f.Modified, f)
}

func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	f, err := s.chat.OpenFile(r.Context(), actor(r.Context()), id, false)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.serveFile(w, r, f)
}

func (s *Server) handleThumbnail(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	f, err := s.chat.OpenFile(r.Context(), actor(r.Context()), id, true)
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.serveFile(w, r, f)
}

func (s *Server) handlePreviewImage(w http.ResponseWriter, r *http.Request) {
	var in struct {
		messagePath
		N int64 `path:"n"`
	}
	if err := bind(r, &in); err != nil {
		s.respondError(w, r, err)
		return
	}
	f, err := s.chat.OpenPreviewImage(r.Context(), actor(r.Context()), in.ConversationID, in.Seq, int(in.N))
	if err != nil {
		s.respondError(w, r, err)
		return
	}
	s.serveFile(w, r, f)
}

func (s *Server) removePreviews(r *http.Request, me chat.Actor, in messagePath) (any, error) {
	return nil, s.chat.RemovePreviews(r.Context(), me, in.ConversationID, in.Seq)
}
