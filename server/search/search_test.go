package search

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		q    string
		want Terms
	}{
		{"Deploy server", Terms{Words: []string{"deploy", "server"}}},
		{`"the server" -tonight`, Terms{Phrases: [][]string{{"the", "server"}}, NotWords: []string{"tonight"}}},
		{`"unclosed phrase here`, Terms{Phrases: [][]string{{"unclosed", "phrase", "here"}}}},
		{"部署 服务器", Terms{Substrings: []string{"部署", "服务器"}}},
		{"example.com, v1.2", Terms{Substrings: []string{"example.com", "v1.2"}}},
		{"「部署」。", Terms{Substrings: []string{"部署"}}},
		{"-x.y deploy", Terms{Words: []string{"deploy"}, NotSubstr: []string{"x.y"}}},
		{"hello, world!", Terms{Words: []string{"hello", "world"}}},
		{"a - b", Terms{Words: []string{"a", "b"}}},
		{"हिन्दी", Terms{Words: []string{"हिन्दी"}}},
		{"Привет", Terms{Words: []string{"привет"}}},
		{`deploy -"release notes"`, Terms{Words: []string{"deploy"}, NotSubstr: []string{"release notes"}}},
		{`"example.com"`, Terms{Substrings: []string{"example.com"}}},
	} {
		got, err := Parse(c.q)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", c.q, got, err, c.want)
		}
	}
	for _, q := range []string{"", "   ", "-only", `""`, "&|!()", "-"} {
		if _, err := Parse(q); err != ErrEmpty {
			t.Errorf("Parse(%q): %v, want ErrEmpty", q, err)
		}
	}
}

// FuzzParse: whatever the input, the tsquery text holds only quoted runs
// of letters, digits and marks, and the operators put between them.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`deploy "the server" -x`, `'a':* & !b | (c)`, "部署 v1.2 -\"x", "\x00\xff'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms, err := Parse(q)
		if err != nil {
			return
		}
		ts := terms.TSQuery()
		in := false
		for _, r := range ts {
			switch {
			case r == '\'':
				in = !in
			case in:
				if !wordRune(r) {
					t.Fatalf("%q gave %q: %q inside a lexeme", q, ts, r)
				}
			case !strings.ContainsRune(" &!:*()<->", r):
				t.Fatalf("%q gave %q: %q outside a lexeme", q, ts, r)
			}
		}
		if in {
			t.Fatalf("%q gave %q: a lexeme left open", q, ts)
		}
		for _, s := range append(terms.Substrings, terms.NotSubstr...) {
			if strings.TrimFunc(s, unicode.IsSpace) == "" {
				t.Fatalf("%q gave an empty substring", q)
			}
		}
	})
}
