package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// normalizeUsername folds a username to lower case and checks it: 3–32 of
// a-z 0-9 _ . -
func normalizeUsername(s string) (string, error) {
	u := strings.ToLower(s)
	if n := len(u); n < 3 || n > 32 {
		return "", Validation("username", "Username must be 3 to 32 characters.")
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return "", Validation("username", "Username may use only letters a–z, digits, and _ . -")
		}
	}
	return u, nil
}

func checkPassword(field, p string) error {
	if !utf8.ValidString(p) {
		return Validation(field, "Password must be valid text.")
	}
	if n := utf8.RuneCountInString(p); n < 8 || n > 256 {
		return Validation(field, "Password must be 8 to 256 characters.")
	}
	return nil
}

// normalizeDisplayName trims a display name and checks it: 1–64 characters,
// no control characters.
func normalizeDisplayName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", Validation("display_name", "Display name must be valid text.")
	}
	if n := utf8.RuneCountInString(s); n < 1 || n > 64 {
		return "", Validation("display_name", "Display name must be 1 to 64 characters.")
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return "", Validation("display_name", "Display name must not contain control characters.")
		}
	}
	return s, nil
}

// normalizeAlias trims an alias; empty means none. 1–64 characters.
func normalizeAlias(a *string) (*string, error) {
	if a == nil {
		return nil, nil
	}
	v := strings.TrimSpace(*a)
	if v == "" {
		return nil, nil
	}
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 64 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
		return nil, Validation("alias", "An alias is up to 64 characters of text.")
	}
	return &v, nil
}

func normalizeGroupName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n < 1 || n > 64 || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", Validation("name", "A group name is 1 to 64 characters.")
	}
	return s, nil
}

func normalizeDescription(s string) (string, error) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 500 {
		return "", Validation("description", "A description is at most 500 characters.")
	}
	return s, nil
}

// normalizeChannelName makes "Release Planning" into "release-planning":
// 1–32 lower-case letters, digits, - and _.
func normalizeChannelName(s string) (string, error) {
	s = strings.ToLower(strings.Join(strings.Fields(s), "-"))
	ok := utf8.RuneCountInString(s) >= 1 && utf8.RuneCountInString(s) <= 32
	for _, c := range s {
		if !(unicode.IsLetter(c) || unicode.IsDigit(c) || c == '-' || c == '_') {
			ok = false
		}
	}
	if !ok {
		return "", Validation("name", "A channel name is 1 to 32 letters, digits, - or _.")
	}
	return s, nil
}

const (
	maxBodyChars     = 4000
	maxClientIDChars = 64
)

func checkMessage(clientID, body string) error {
	if n := utf8.RuneCountInString(clientID); n < 1 || n > maxClientIDChars || !utf8.ValidString(clientID) || strings.ContainsRune(clientID, 0) {
		return Validation("client_id", "client_id must be 1 to 64 characters.")
	}
	return checkBody(body)
}

// checkBody checks a message body: 1–4000 characters of text, not only
// white space.
func checkBody(body string) error {
	if !utf8.ValidString(body) || strings.ContainsRune(body, 0) {
		return Validation("body", "The message must be valid UTF-8 text without NUL characters.")
	}
	if n := utf8.RuneCountInString(body); n < 1 || n > maxBodyChars {
		return Validation("body", "A message is 1 to 4000 characters.")
	}
	if strings.TrimFunc(body, unicode.IsSpace) == "" {
		return Validation("body", "A message cannot be only white space.")
	}
	return nil
}

// Truncate shortens s to n characters, marking the cut.
func Truncate(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
