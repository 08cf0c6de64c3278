// Package search finds the messages a user may read by their text
// (docs/protocol.md, Search). The Engine interface is what the chat
// service needs; Postgres implements it with no other service, and a
// dedicated engine can take its place later.
package search

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Query is one search by one user. The engine enforces access: only the
// conversations the user is in now, above their cleared_seq, no deleted
// messages.
type Query struct {
	UserID         int64
	Terms          Terms
	ConversationID int64 // 0: any
	GroupID        int64 // 0: any
	From           int64 // a sender, 0: anyone
	Before         int64 // a message id, 0: the newest
	Limit          int
}

// Engine returns matching message ids, newest first, at most Limit, and
// whether there are more.
type Engine interface {
	Search(ctx context.Context, q Query) (ids []int64, more bool, err error)
}

// Terms is a parsed query: every Word (a prefix of a word) and Phrase must
// match, every Substring must occur, and no Excluded word or substring.
type Terms struct {
	Words      []string   // letters and digits of spaced scripts, lowercased
	Phrases    [][]string // consecutive words
	Substrings []string   // text in scripts without spaces, or with punctuation in it
	NotWords   []string
	NotSubstr  []string
}

// ErrEmpty is a query with nothing to look for.
var ErrEmpty = errors.New("search: nothing to look for")

// Parse reads a user's query: words, "quoted phrases" and -excluded words.
// It never fails on odd input: quotes left open close at the end, and
// anything that is not a letter or a digit separates words.
func Parse(q string) (Terms, error) {
	var t Terms
	q = strings.ToValidUTF8(q, " ")
	for len(q) > 0 {
		q = strings.TrimLeftFunc(q, unicode.IsSpace)
		if q == "" {
			break
		}
		neg := false
		if q[0] == '-' && len(q) > 1 && !unicode.IsSpace(rune(q[1])) {
			neg, q = true, q[1:]
		}
		var tok string
		quoted := q[0] == '"'
		if quoted {
			end := strings.IndexByte(q[1:], '"')
			if end < 0 {
				tok, q = q[1:], ""
			} else {
				tok, q = q[1:1+end], q[2+end:]
			}
		} else {
			end := strings.IndexFunc(q, unicode.IsSpace)
			if end < 0 {
				end = len(q)
			}
			tok, q = q[:end], q[end:]
		}
		t.add(strings.ToLower(tok), quoted, neg)
	}
	if len(t.Words)+len(t.Phrases)+len(t.Substrings) == 0 {
		return t, ErrEmpty
	}
	return t, nil
}

func (t *Terms) add(tok string, quoted, neg bool) {
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return
	}
	// text a word index cannot hold: scripts written without spaces, and a
	// single token with punctuation inside (example.com, v1.2, foo_bar)
	// a phrase left out is text left out; so is a quoted single token with
	// punctuation in it ("example.com")
	phrase := quoted && strings.IndexFunc(tok, unicode.IsSpace) >= 0
	if unspaced(tok) || inner(tok) && !phrase || neg && phrase {
		if !quoted { // a comma or a full stop after it is no part of it
			tok = strings.TrimFunc(tok, func(r rune) bool { return !wordRune(r) })
		}
		if tok == "" {
			return
		}
		if neg {
			t.NotSubstr = append(t.NotSubstr, tok)
		} else {
			t.Substrings = append(t.Substrings, tok)
		}
		return
	}
	words := strings.FieldsFunc(tok, func(r rune) bool { return !wordRune(r) })
	switch {
	case len(words) == 0:
	case neg:
		t.NotWords = append(t.NotWords, words...)
	case quoted && len(words) > 1:
		t.Phrases = append(t.Phrases, words)
	default:
		t.Words = append(t.Words, words...)
	}
}

// unspaced: Han, Hiragana, Katakana, Hangul syllables are matched by
// substring, as are Thai, Lao, Khmer and Myanmar.
func unspaced(s string) bool {
	for _, r := range s {
		if unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Thai, unicode.Lao, unicode.Khmer, unicode.Myanmar) {
			return true
		}
	}
	return false
}

// inner: punctuation between letters or digits, after trimming it at the
// ends (a trailing comma is no part of the word).
func inner(s string) bool {
	s = strings.TrimFunc(s, func(r rune) bool { return !wordRune(r) })
	if utf8.RuneCountInString(s) < 3 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !wordRune(r) }) >= 0
}

// wordRune: letters, digits, and the marks that belong to a letter
// (Devanagari vowel signs, combining accents).
func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) }

// TSQuery is the words, phrases and excluded words as to_tsquery text:
// each lexeme quoted (only letters and digits, so nothing in it is
// syntax), words as prefixes.
func (t Terms) TSQuery() string {
	var parts []string
	for _, w := range t.Words {
		if utf8.RuneCountInString(w) == 1 {
			parts = append(parts, "'"+w+"'") // one letter begins too much: the word itself
		} else {
			parts = append(parts, "'"+w+"':*")
		}
	}
	for _, p := range t.Phrases {
		q := make([]string, len(p))
		for i, w := range p {
			q[i] = "'" + w + "'"
		}
		parts = append(parts, "("+strings.Join(q, " <-> ")+")")
	}
	for _, w := range t.NotWords {
		parts = append(parts, "!'"+w+"':*")
	}
	if len(t.Words)+len(t.Phrases) == 0 {
		return "" // exclusions alone select nothing by themselves
	}
	return strings.Join(parts, " & ")
}

// Like is a substring as an ILIKE pattern.
func Like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}
