package function

import (
	"strings"
	"unicode"

	"github.com/llm-secure-gateway/gateway/function/guard"
)

// streamGuard runs the output guard over a streamed answer. It holds back
// the tail that could still be the start of a secret or a number (a word
// being written, digits with separators, an open PEM block) and releases
// text once it is followed by something that ends it. A finding is redacted
// before it is sent; the price is that a word reaches the client when the
// next space does, not a token earlier.
type streamGuard struct {
	g            *guard.Guard
	restore      map[string]string
	confidential []string
	pending      strings.Builder
	maxHold      int
	// sent is the tail of what was released, so a confidential prompt
	// quoted across several segments is still seen whole.
	sent   string
	leaked bool
}

func newStreamGuard(g *guard.Guard, restore map[string]string, confidential []string) *streamGuard {
	return &streamGuard{g: g, restore: restore, confidential: confidential, maxHold: 4096}
}

// push adds a delta and returns what may be sent now (possibly "").
func (s *streamGuard) push(delta string) string {
	s.pending.WriteString(delta)
	text := s.pending.String()
	cut := safeCut(text)
	if cut == 0 && len(text) > s.maxHold {
		// A run this long without a break is sent rather than held
		// forever; it is still scanned.
		cut = len(text)
	}
	if cut == 0 {
		return ""
	}
	out := s.clean(text[:cut])
	rest := text[cut:]
	s.pending.Reset()
	s.pending.WriteString(rest)
	return out
}

// flush returns everything still held, scanned.
func (s *streamGuard) flush() string {
	text := s.pending.String()
	s.pending.Reset()
	if text == "" {
		return ""
	}
	return s.clean(text)
}

func (s *streamGuard) clean(text string) string {
	if len(s.confidential) > 0 {
		window := s.sent + text
		if _, ov := s.g.ScanOutput(window, s.confidential); ov.Leaked {
			s.leaked = true
			return ""
		}
		s.sent = window[max(0, len(window)-2048):]
	}
	out, _ := s.g.ScanOutput(text, nil)
	if len(s.restore) > 0 {
		out = guard.Restore(out, s.restore)
	}
	return out
}

// safeCut is the length of text's prefix that can be released: up to the
// last whitespace, backed off over a trailing run of digits and separators
// (a card or phone number being written), and never inside an open PEM block.
func safeCut(text string) int {
	if i := strings.LastIndex(text, "-----BEGIN"); i >= 0 && !strings.Contains(text[i:], "-----END") {
		return safeCut(text[:i])
	}
	cut := strings.LastIndexFunc(text, unicode.IsSpace)
	if cut < 0 {
		return 0
	}
	// Back off over "4111 1111 1111 " style runs ending at the cut.
	i := cut
	for i > 0 {
		c := text[i-1]
		if c >= '0' && c <= '9' || c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '+' {
			i--
			continue
		}
		break
	}
	if i < cut && strings.ContainsAny(text[i:cut], "0123456789") {
		// Keep the digits back; release what precedes them.
		return i
	}
	return cut + 1
}
