package guard

import "strings"

// maxPlaceholder bounds how much text a Restorer holds back: the longest
// placeholder is "[ANTHROPIC_KEY_9999]".
const maxPlaceholder = 40

// Restorer applies Restore to an answer that arrives in pieces (server-sent
// events), where a placeholder may be split across two chunks. It holds back
// at most one unfinished "[…" run; everything else passes through at once.
type Restorer struct {
	placeholders map[string]string
	pending      string
}

// NewRestorer returns a Restorer for the placeholders of one Verdict.
func NewRestorer(placeholders map[string]string) *Restorer {
	return &Restorer{placeholders: placeholders}
}

// Write takes the next chunk and returns the text that can be sent now.
func (r *Restorer) Write(chunk string) string {
	s := r.pending + chunk
	r.pending = ""
	if len(r.placeholders) == 0 {
		return s
	}
	// keep back a trailing "[…" that could still become a placeholder
	if k := strings.LastIndexByte(s, '['); k >= 0 && strings.IndexByte(s[k:], ']') < 0 && len(s)-k < maxPlaceholder {
		r.pending = s[k:]
		s = s[:k]
	}
	return Restore(s, r.placeholders)
}

// Flush returns whatever was held back, at the end of the stream.
func (r *Restorer) Flush() string {
	s := r.pending
	r.pending = ""
	return Restore(s, r.placeholders)
}
