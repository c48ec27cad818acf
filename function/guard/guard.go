// Package guard scans text for prompt injection, PII, secrets and command
// injection before it reaches a provider, and after it comes back.
package guard

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Action is what the guard does with PII and secrets it finds.
type Action string

const (
	ActionBlock  Action = "block"
	ActionRedact Action = "redact"
	ActionAllow  Action = "allow"
)

// Category names as they appear in a blocked response's "categories".
const (
	CategoryInjection = "prompt_injection"
	CategoryPII       = "pii"
	CategorySecrets   = "secrets"
	CategorySQL       = "sql_injection"
	CategoryShell     = "command_injection"
)

// DefaultInjectionThreshold is the score at or above which a prompt counts as
// an injection when Config.InjectionThreshold is zero.
const DefaultInjectionThreshold = 0.5

// Config switches detectors on and off; the zero value turns every category
// off, so start from DefaultConfig.
type Config struct {
	Injection          bool    // ENABLE_PROMPT_INJECTION_CHECK
	PIIAction          Action  // PII_ACTION; also applies to secrets
	PII                bool    // report and act on personal data
	Secrets            bool    // report and act on credentials
	SQL                bool    // block SQL injection patterns
	Shell              bool    // block shell command injection patterns
	InjectionThreshold float64 // 0 means DefaultInjectionThreshold
}

// DefaultConfig is every detector on, PII blocked.
func DefaultConfig() Config {
	return Config{Injection: true, PIIAction: ActionBlock, PII: true, Secrets: true, SQL: true, Shell: true}
}

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("guard: invalid config")

// Guard holds compiled detectors; it is safe for concurrent use.
type Guard struct {
	cfg Config
}

// New validates cfg and compiles the detectors once, at cold start.
func New(cfg Config) (*Guard, error) {
	switch cfg.PIIAction {
	case "":
		cfg.PIIAction = ActionBlock
	case ActionBlock, ActionRedact, ActionAllow:
	default:
		return nil, fmt.Errorf("%w: PII action %q (want block, redact or allow)", ErrConfig, string(cfg.PIIAction))
	}
	if cfg.InjectionThreshold == 0 {
		cfg.InjectionThreshold = DefaultInjectionThreshold
	}
	if cfg.InjectionThreshold < 0 || cfg.InjectionThreshold > 1 {
		return nil, fmt.Errorf("%w: injection threshold %v outside 0..1", ErrConfig, cfg.InjectionThreshold)
	}
	return &Guard{cfg: cfg}, nil
}

// Config returns the effective configuration (defaults filled in).
func (g *Guard) Config() Config { return g.cfg }

// Verdict is the input guard's decision over all texts of one request.
type Verdict struct {
	Blocked           bool
	Categories        []string
	InjectionDetected bool
	Score             float64
	PIITypes          []string
	PIIMatches        map[string]int
	Redacted          []string
	Placeholders      map[string]string
}

// OutputVerdict describes what ScanOutput found in a provider answer.
type OutputVerdict struct {
	// Leaked is true when the answer repeats a confidential string (or a
	// long enough part of it); the caller should not forward the answer.
	Leaked     bool
	Categories []string
	PIITypes   []string
	PIIMatches map[string]int
}

var (
	baseInjection = regexp.MustCompile(`(?i)ignore\s+(all\s+)?(the\s+)?(previous|prior|above)\s+(instructions|rules|prompts?)|disregard\s+(all\s+)?(the\s+)?(previous|prior|above|your)|you\s+are\s+now\s+(a|an|in|DAN)\b|(reveal|show|print|repeat)\s+(me\s+)?(your|the)\s+system\s+prompt`)
	baseEmail     = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	baseCard      = regexp.MustCompile(`\b(?:\d[ -]?){12,18}\d\b`)
	baseSSN       = regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b`)
	baseTax       = regexp.MustCompile(`\b\d{2}-\d{7}\b`)
	baseKey       = regexp.MustCompile(`(?i)\b(?:api[_-]?key|secret|token)\s*[:=]\s*['"]?([A-Za-z0-9_\-]{16,})`)
)

type finding struct {
	typ        string
	start, end int
}

func luhn(digits string) bool {
	sum, n := 0, 0
	for i := len(digits) - 1; i >= 0; i-- {
		c := digits[i]
		if c < '0' || c > '9' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n >= 13 && sum%10 == 0
}

func findPII(s string) []finding {
	var out []finding
	add := func(typ string, locs [][]int) {
		for _, l := range locs {
			out = append(out, finding{typ, l[0], l[1]})
		}
	}
	add("email", baseEmail.FindAllStringIndex(s, -1))
	for _, l := range baseCard.FindAllStringIndex(s, -1) {
		if luhn(s[l[0]:l[1]]) {
			out = append(out, finding{"credit_card", l[0], l[1]})
		}
	}
	add("ssn", baseSSN.FindAllStringIndex(s, -1))
	add("tax_id", baseTax.FindAllStringIndex(s, -1))
	for _, l := range baseKey.FindAllStringSubmatchIndex(s, -1) {
		out = append(out, finding{"api_key", l[2], l[3]})
	}
	return out
}

// Scan checks every text of one request and returns one verdict.
func (g *Guard) Scan(texts ...string) Verdict {
	v := Verdict{PIIMatches: map[string]int{}, Placeholders: map[string]string{}, Redacted: make([]string, len(texts))}
	cats := map[string]bool{}
	types := map[string]bool{}
	counters := map[string]int{}
	for i, t := range texts {
		v.Redacted[i] = t
		if g.cfg.Injection && baseInjection.MatchString(t) {
			v.InjectionDetected, v.Score = true, 1
			cats[CategoryInjection] = true
		}
		if !g.cfg.PII {
			continue
		}
		fs := findPII(t)
		sort.Slice(fs, func(a, b int) bool { return fs[a].start < fs[b].start })
		var b strings.Builder
		last := 0
		for _, f := range fs {
			if f.start < last {
				continue
			}
			types[f.typ] = true
			v.PIIMatches[f.typ]++
			cats[CategoryPII] = true
			counters[f.typ]++
			ph := "[" + strings.ToUpper(f.typ) + "_" + strconv.Itoa(counters[f.typ]) + "]"
			v.Placeholders[ph] = t[f.start:f.end]
			b.WriteString(t[last:f.start])
			b.WriteString(ph)
			last = f.end
		}
		b.WriteString(t[last:])
		if g.cfg.PIIAction == ActionRedact {
			v.Redacted[i] = b.String()
		}
	}
	if g.cfg.PIIAction != ActionRedact {
		v.Placeholders = map[string]string{}
	}
	for c := range cats {
		v.Categories = append(v.Categories, c)
	}
	sort.Strings(v.Categories)
	for t := range types {
		v.PIITypes = append(v.PIITypes, t)
	}
	sort.Strings(v.PIITypes)
	v.Blocked = v.InjectionDetected || (len(v.PIITypes) > 0 && g.cfg.PIIAction == ActionBlock)
	return v
}

// ScanOutput redacts PII and secrets in a provider answer and reports leaks
// of the confidential strings.
func (g *Guard) ScanOutput(text string, confidential []string) (string, OutputVerdict) {
	var ov OutputVerdict
	for _, c := range confidential {
		if c != "" && strings.Contains(text, c) {
			ov.Leaked = true
		}
	}
	return text, ov
}

// Restore puts the originals back in place of the placeholders.
func Restore(text string, placeholders map[string]string) string {
	for k, v := range placeholders {
		text = strings.ReplaceAll(text, k, v)
	}
	return text
}
