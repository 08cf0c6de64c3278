package chat

import (
	"slices"
	"testing"
)

func TestIsEmoji(t *testing.T) {
	cases := []struct {
		s    string
		want bool
	}{
		{"👍", true}, {"👍🏽", true}, {"❤️", true}, {"❤", true}, {"🎉", true}, {"🚀", true},
		{"👩‍💻", true}, {"👨‍👩‍👧‍👦", true}, {"🏳️‍🌈", true}, {"🇫🇷", true}, {"🇺🇦", true},
		{"🏴󠁧󠁢󠁳󠁣󠁴󠁿", true}, {"1️⃣", true}, {"#️⃣", true}, {"🫠", true}, {"☕", true}, {"✅", true},
		{"", false}, {"a", false}, {"1", false}, {"#", false}, {"ab", false}, {"👍👍", false},
		{"👍a", false}, {"🇫", false}, {"🇫🇷🇩🇪", false}, {"é", false}, {"中", false}, {" 👍", false},
		{"\u200d", false}, {"\ufe0f", false}, {"<script>", false}, {"\xff", false},
	}
	for _, c := range cases {
		if got := isEmoji(c.s); got != c.want {
			t.Errorf("isEmoji(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

func TestParseMentions(t *testing.T) {
	cases := []struct {
		body  string
		names []string
		all   bool
	}{
		{"hi @Bob and @carol.", []string{"bob", "carol.", "carol"}, false},
		{"@all please look", nil, true},
		{"@here @channel", nil, true},
		{"mail me at bob@example.com", nil, false},
		{"`@bob` is code", nil, false},
		{"``@bob` still code``, but @dave is not", []string{"dave"}, false},
		{"```\n@bob in a block\n```\nafter @erin", []string{"erin"}, false},
		{"~~~go\n@all\n~~~", nil, false},
		{"@al is too short, @alice-smith is fine", []string{"alice-smith"}, false},
		{"(@frank)", []string{"frank"}, false},
	}
	for _, c := range cases {
		p := parseMentions(c.body)
		if !slices.Equal(p.names, c.names) || p.all != c.all {
			t.Errorf("%q → %v all=%v, want %v all=%v", c.body, p.names, p.all, c.names, c.all)
		}
	}
}
