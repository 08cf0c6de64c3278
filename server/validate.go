package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxBody bounds every request body (the protocol's 64 KiB).
const maxBody = 64 << 10

// decode reads a JSON object body into v: invalid_json when it is not one
// object, too_large past maxBody. Unknown fields are ignored, so newer
// clients keep working.
func decode(r *http.Request, v any) error {
	if r.ContentLength > maxBody {
		return errTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return errInvalidJSON
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' || !utf8.Valid(body) {
		return errInvalidJSON
	}
	// PostgreSQL text cannot hold NUL: refuse it here, for every field
	if bytes.Contains(body, []byte(`\u0000`)) {
		return validation("", "Text may not contain NUL characters.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return validation(ute.Field, "has the wrong type")
		}
		return errInvalidJSON
	}
	if dec.More() {
		return errInvalidJSON
	}
	return nil
}

// normalizeUsername folds a username to lower case and checks it: 3–32 of
// a-z 0-9 _ . -
func normalizeUsername(s string) (string, error) {
	u := strings.ToLower(s)
	if n := len(u); n < 3 || n > 32 {
		return "", validation("username", "Username must be 3 to 32 characters.")
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", validation("username", "Username may use only letters a–z, digits, and _ . -")
		}
	}
	return u, nil
}

func checkPassword(field, p string) error {
	if !utf8.ValidString(p) {
		return validation(field, "Password must be valid text.")
	}
	if n := utf8.RuneCountInString(p); n < 8 || n > 256 {
		return validation(field, "Password must be 8 to 256 characters.")
	}
	return nil
}

// normalizeDisplayName trims a display name and checks it: 1–64 characters,
// no control characters.
func normalizeDisplayName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", validation("display_name", "Display name must be valid text.")
	}
	if n := utf8.RuneCountInString(s); n < 1 || n > 64 {
		return "", validation("display_name", "Display name must be 1 to 64 characters.")
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return "", validation("display_name", "Display name must not contain control characters.")
		}
	}
	return s, nil
}
