package chat

import (
	"strings"
)

// parsedMentions is what a body says about mentions, before looking up who
// is a member: candidate usernames, and whether it mentions everyone.
type parsedMentions struct {
	names []string // folded to lower case; a name ending in . or - also without them
	all   bool
}

// parseMentions finds @username, @all, @channel and @here in a body, as
// Markdown reads it: not inside a code span (`…`) or a fenced code block
// (``` or ~~~). A mention starts a word (after the start or a character
// that is not part of a name) and ends at the first character that is not.
func parseMentions(body string) parsedMentions {
	var p parsedMentions
	seen := map[string]bool{}
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			p.names = append(p.names, n)
		}
	}
	fence := ""
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~") {
			fence = trimmed[:3]
			continue
		}
		scanLine(line, &p, add)
	}
	return p
}

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// scanLine finds the mentions of one line outside its code spans.
func scanLine(line string, p *parsedMentions, add func(string)) {
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '`':
			// a code span: as many backticks close it as opened it
			n := 1
			for i+n < len(line) && line[i+n] == '`' {
				n++
			}
			ticks := strings.Repeat("`", n)
			if end := strings.Index(line[i+n:], ticks); end >= 0 {
				i += n + end + n - 1
			} else {
				i += n - 1
			}
		case c == '@' && (i == 0 || !nameChar(line[i-1])):
			j := i + 1
			for j < len(line) && nameChar(line[j]) {
				j++
			}
			name := strings.ToLower(line[i+1 : j])
			switch {
			case name == "all" || name == "channel" || name == "here":
				p.all = true
			case len(name) >= 3:
				add(name)
				// "@bob." at the end of a sentence names bob
				if t := strings.TrimRight(name, ".-"); t != name && len(t) >= 3 {
					add(t)
				}
			}
			i = j - 1
		}
	}
}
