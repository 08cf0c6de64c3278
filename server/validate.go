package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/parleychat/parley/server/chat"
)

// maxBody bounds every request body (the protocol's 64 KiB).
const maxBody = 64 << 10

// decode reads a JSON object body into v: invalid_json when it is not one
// object, too_large past maxBody. Unknown fields are ignored, so newer
// clients keep working.
func decode(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return err
	}
	return decodeJSON(body, v)
}

// readBody reads a request body of at most maxBody: too_large past it,
// slow-body past the body deadline, invalid_json for a broken one.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, errTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
			return nil, errTooLarge
		case errors.As(err, &ne) && ne.Timeout():
			return nil, errSlowBody
		}
		return nil, errInvalidJSON
	}
	return body, nil
}

// decodeJSON reads one JSON object into v (a request body or a frame's data).
func decodeJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !utf8.Valid(body) {
		return errInvalidJSON
	}
	// PostgreSQL text cannot hold NUL: refuse it here, for every field
	if bytes.Contains(body, []byte(`\u0000`)) {
		return chat.Validation("", "Text may not contain NUL characters.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return chat.Validation(ute.Field, "has the wrong type")
		}
		return errInvalidJSON
	}
	// nothing may follow the object: not even a stray brace
	if _, err := dec.Token(); err != io.EOF {
		return errInvalidJSON
	}
	return nil
}

// pathID reads a positive integer id from the path; anything else is 404.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, chat.ErrNotFound
	}
	return id, nil
}

// queryInt reads an optional whole-number query parameter.
func queryInt(r *http.Request, name, msg string) (*int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return nil, chat.Validation(name, msg)
	}
	return &n, nil
}
