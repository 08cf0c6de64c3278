package chat

import (
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// isEmoji reports whether s is exactly one emoji: one grapheme cluster
// that Unicode classes as an emoji, with its skin tones, variation
// selectors, zero-width joiner sequences and tags (subdivision flags)
// included; a pair of regional indicators (a flag); or a keycap (1️⃣).
func isEmoji(s string) bool {
	if s == "" || len(s) > 64 || !utf8.ValidString(s) {
		return false
	}
	cluster, rest, _, _ := uniseg.FirstGraphemeClusterInString(s, -1)
	if rest != "" || cluster != s {
		return false // more than one character
	}
	runes := []rune(s)
	first := runes[0]
	switch {
	case isRegional(first):
		return len(runes) == 2 && isRegional(runes[1])
	case first == '#' || first == '*' || (first >= '0' && first <= '9'):
		// a keycap: the character, maybe a variation selector, the keycap mark
		return runes[len(runes)-1] == 0x20E3 && (len(runes) == 2 || (len(runes) == 3 && runes[1] == 0xFE0F))
	case !pictographic(first):
		return false
	}
	for _, r := range runes[1:] {
		if !(pictographic(r) || r == 0x200D || r == 0xFE0F || r == 0x20E3 ||
			(r >= 0x1F3FB && r <= 0x1F3FF) || (r >= 0xE0020 && r <= 0xE007F) || isRegional(r)) {
			return false
		}
	}
	return true
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// pictographic is Unicode's Extended_Pictographic, in the ranges emoji use.
func pictographic(r rune) bool {
	switch {
	case r == 0x00A9, r == 0x00AE, r == 0x203C, r == 0x2049, r == 0x2122, r == 0x2139,
		r >= 0x2194 && r <= 0x2199, r == 0x21A9, r == 0x21AA, r == 0x231A, r == 0x231B, r == 0x2328, r == 0x2388,
		r == 0x23CF, r >= 0x23E9 && r <= 0x23F3, r >= 0x23F8 && r <= 0x23FA, r == 0x24C2, r == 0x25AA, r == 0x25AB,
		r == 0x25B6, r == 0x25C0, r >= 0x25FB && r <= 0x25FE, r >= 0x2600 && r <= 0x27BF,
		r == 0x2934, r == 0x2935, r >= 0x2B05 && r <= 0x2B07, r == 0x2B1B, r == 0x2B1C, r == 0x2B50, r == 0x2B55,
		r == 0x3030, r == 0x303D, r == 0x3297, r == 0x3299,
		r >= 0x1F000 && r <= 0x1F0FF, r >= 0x1F10D && r <= 0x1F10F, r == 0x1F12F, r >= 0x1F16C && r <= 0x1F171,
		r == 0x1F17E, r == 0x1F17F, r == 0x1F18E, r >= 0x1F191 && r <= 0x1F19A, r >= 0x1F1AD && r <= 0x1F1E5,
		r >= 0x1F201 && r <= 0x1F20F, r == 0x1F21A, r == 0x1F22F, r >= 0x1F232 && r <= 0x1F23A,
		r >= 0x1F23C && r <= 0x1F23F, r >= 0x1F249 && r <= 0x1F3FA, r >= 0x1F400 && r <= 0x1F53D,
		r >= 0x1F546 && r <= 0x1F64F, r >= 0x1F680 && r <= 0x1F6FF, r >= 0x1F774 && r <= 0x1F77F,
		r >= 0x1F7D5 && r <= 0x1F7FF, r >= 0x1F80C && r <= 0x1F80F, r >= 0x1F848 && r <= 0x1F84F,
		r >= 0x1F85A && r <= 0x1F85F, r >= 0x1F888 && r <= 0x1F88F, r >= 0x1F8AE && r <= 0x1F8FF,
		r >= 0x1F90C && r <= 0x1F93A, r >= 0x1F93C && r <= 0x1F945, r >= 0x1F947 && r <= 0x1FAFF,
		r >= 0x1FC00 && r <= 0x1FFFD:
		return true
	}
	return false
}
