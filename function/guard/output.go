package guard

import (
	"hash/maphash"
	"slices"
	"strings"
)

// CategoryLeak marks an answer that repeats a confidential string.
const CategoryLeak = "system_prompt_leak"

// OutputVerdict describes what ScanOutput found in a provider answer.
type OutputVerdict struct {
	// Leaked is true when the answer repeats a confidential string, or a
	// run of at least leakWords of its words however they are spaced, cased
	// or punctuated; the caller should not forward the answer.
	Leaked     bool
	Categories []string       // sorted: "pii", "secrets", "system_prompt_leak"
	PIITypes   []string       // sorted unique types redacted
	PIIMatches map[string]int // type → count
}

// leakWords is the n-gram length that counts as quoting a confidential text:
// long enough that ordinary phrases do not collide.
const leakWords = 8

// ScanOutput redacts secrets (always, when Config.Secrets) and PII (unless
// PIIAction is allow) in a provider answer as [REDACTED_TYPE], and reports
// whether it leaks one of the confidential strings (e.g. the system prompt
// the client marked confidential).
//
// Call it before Restore: the redaction tokens differ from the input
// placeholders, so restoring afterwards cannot re-expose what was redacted
// here, and the restored originals (the user's own data) are not redacted.
func (g *Guard) ScanOutput(text string, confidential []string) (string, OutputVerdict) {
	sc := g.pool.Get().(*scratch)
	defer g.pool.Put(sc)
	var ov OutputVerdict
	// judged on the answer as the model wrote it, before redaction
	leaked := len(confidential) > 0 && g.leaks(text, confidential, sc)
	if g.cfg.PII || g.cfg.Secrets {
		scanRaw(text, &sc.raw)
		kept := g.keepFindings(&sc.raw)
		out := kept[:0]
		for _, f := range kept {
			if !secretTypes[f.typ] && g.cfg.PIIAction == ActionAllow {
				continue
			}
			out = append(out, f)
		}
		if len(out) > 0 {
			ov.PIIMatches = map[string]int{}
			var b strings.Builder
			b.Grow(len(text))
			last := 0
			var pii, secrets bool
			for _, f := range out {
				b.WriteString(text[last:f.start])
				b.WriteString("[REDACTED_" + strings.ToUpper(f.typ) + "]")
				last = f.end
				if ov.PIIMatches[f.typ] == 0 {
					ov.PIITypes = append(ov.PIITypes, f.typ)
				}
				ov.PIIMatches[f.typ]++
				if secretTypes[f.typ] {
					secrets = true
				} else {
					pii = true
				}
			}
			b.WriteString(text[last:])
			text = b.String()
			slices.Sort(ov.PIITypes)
			if pii {
				ov.Categories = append(ov.Categories, CategoryPII)
			}
			if secrets {
				ov.Categories = append(ov.Categories, CategorySecrets)
			}
		}
	}
	if leaked {
		ov.Leaked = true
		ov.Categories = append(ov.Categories, CategoryLeak)
	}
	slices.Sort(ov.Categories)
	return text, ov
}

// leaks compares folded forms, so re-casing, re-spacing, look-alikes or
// markdown around a quoted system prompt do not hide it.
func (g *Guard) leaks(text string, confidential []string, sc *scratch) bool {
	sc.fold.normalize(text, &g.ft)
	out := wordsOf(sc.fold.fold)
	seed := maphash.MakeSeed()
	for _, c := range confidential {
		sc.innerFold.normalize(c, &g.ft)
		cw := wordsOf(sc.innerFold.fold)
		if len(cw) == 0 {
			continue
		}
		n := min(leakWords, len(cw))
		if n < 3 {
			// a canary or a two-word secret: look for it whole
			if strings.Contains(" "+strings.Join(out, " ")+" ", " "+strings.Join(cw, " ")+" ") {
				return true
			}
			continue
		}
		grams := make(map[uint64]struct{}, len(cw))
		for i := 0; i+n <= len(cw); i++ {
			grams[gramHash(seed, cw[i:i+n])] = struct{}{}
		}
		for i := 0; i+n <= len(out); i++ {
			if _, ok := grams[gramHash(seed, out[i:i+n])]; ok {
				return true
			}
		}
	}
	return false
}

func wordsOf(fold []byte) []string {
	return strings.FieldsFunc(string(fold), func(r rune) bool { return r == ' ' || r == foldClause || r == foldQuote })
}

func gramHash(seed maphash.Seed, ws []string) uint64 {
	var h maphash.Hash
	h.SetSeed(seed)
	for _, w := range ws {
		h.WriteString(w)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// Restore puts the originals back in place of the placeholders Scan made
// (PII_RESTORE). Text that merely looks like a placeholder but is not in the
// map is left alone.
func Restore(text string, placeholders map[string]string) string {
	if len(placeholders) == 0 || !strings.Contains(text, "[") {
		return text
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(text); i++ {
		if text[i] != '[' {
			continue
		}
		e := strings.IndexByte(text[i:], ']')
		if e < 0 || e > 40 {
			continue
		}
		if v, ok := placeholders[text[i:i+e+1]]; ok {
			if b.Len() == 0 {
				b.Grow(len(text))
			}
			b.WriteString(text[last:i])
			b.WriteString(v)
			last = i + e + 1
			i += e
		}
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}
