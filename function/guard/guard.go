// Package guard scans text for prompt injection, PII, secrets and SQL/shell
// injection before it reaches a provider, and provider answers on the way
// back.
//
// Use: build one Guard at cold start (New compiles the vocabulary, about
// 2 ms; the full look-alike table is built on the first non-ASCII text) and
// share it; it is safe for concurrent use. Per request:
//
//	v := g.Scan(messages...)            // one verdict for the whole chat
//	if v.Blocked { 422 with v.Categories, v.PIITypes }
//	send v.Redacted to the provider     // placeholders when PIIAction is redact
//	out, ov := g.ScanOutput(answer, confidential)
//	if ov.Leaked { do not forward }
//	if PII_RESTORE { out = guard.Restore(out, v.Placeholders) }
//
// ScanOutput comes before Restore: its redaction tokens ([REDACTED_EMAIL])
// differ from the input placeholders ([EMAIL_1]), so the user's own values
// are restored and nothing new the model produced is.
//
// How injection is scored: the text is folded (NFKC, TR39 confusables,
// invisible characters removed, leetspeak, case, separators; see
// normalize.go) into words; words are looked up in a vocabulary of roles
// ("override verb", "instruction noun", "you") in eight languages; rules
// combine roles by word distance (any word order a rule allows, not just
// the first candidate) into weighted signals, discounted when the
// wording describes rather than commands (negated, after a modal, quoted in a
// question about security) and raised when it was hidden (split, joined,
// ROT13, look-alikes). Base64, hex, percent and HTML escapes, Unicode tag
// characters and HTML/markdown comments are decoded and scored again. The
// rules' score is a noisy-OR of the strongest signal of each kind. A
// learned model (learned.go) reads the same folded words as hashed
// n-grams; a second stage weighs it against the rules' score and each kind
// of signal, and that probability is the reported score. Only Go's
// linear-time regexp is used, and only on short windows around candidates.
//
// PII and secrets are found in the original text (offsets are needed for
// redaction) and validated: Luhn, IBAN mod-97, SSA area rules, ITIN/EIN
// ranges, libphonenumber, net/netip; credentials by issuer prefix and shape
// (after gitleaks' rule families); generic keys only when assigned to a
// credential-like name with a value random enough to be one.
//
// Not covered: instructions split across separate messages, images, and
// what a linear model over words cannot tell apart (a benign text that
// reads like an attack, an attack in plain everyday words). The AI-safety
// classifier (Gemini, Lakera) is the second line for those.
package guard

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	cfg  Config
	ft   lazyFoldTable
	trie *wordTrie
	typo typoIndex
	pool sync.Pool // *scratch: scans reuse their buffers
	// model is the learned second opinion on injection (learned.go); nil
	// scores with the rules alone
	model *linearModel
}

// scratch is the per-scan working memory.
type scratch struct {
	fold, innerFold foldState
	inj, innerInj   injState
	raw             rawState
	rawDec          rawState // the raw scan of a URL-decoded text (SQL/shell)
	dec             []byte
	feat            []uint32 // the learned model's feature hashes
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
	g := &Guard{cfg: cfg}
	vft := foldTableFor(vocabularyWords)
	t, err := buildTrie(vft)
	if err != nil {
		return nil, err
	}
	g.trie = t
	g.typo = buildTypoIndex(vft)
	if g.model, err = embeddedModel(); err != nil {
		return nil, err
	}
	g.pool.New = func() any { return new(scratch) }
	return g, nil
}

// Config returns the effective configuration (defaults filled in).
func (g *Guard) Config() Config { return g.cfg }

// Verdict is the input guard's decision over all texts of one request.
// Slices and PIIMatches are never nil, so they encode as [] and {}.
type Verdict struct {
	// Blocked: injection (when enabled) at or above the threshold, SQL or
	// shell injection, or PII/secrets with PIIAction block.
	Blocked bool
	// Categories found, sorted: prompt_injection, pii, secrets,
	// sql_injection, command_injection. PII and secrets are listed even when
	// redacted or allowed; Blocked says whether the request may go on.
	Categories        []string
	InjectionDetected bool
	// Score is the injection score 0..1 (the highest over the texts).
	Score float64
	// PIITypes are SPEC.md's type names (secrets included), sorted.
	PIITypes   []string
	PIIMatches map[string]int // type → occurrences
	// Redacted has one entry per input text: with PIIAction redact the text
	// with [TYPE_N] placeholders, otherwise the input unchanged.
	Redacted []string
	// Placeholders maps "[EMAIL_1]" to the original value (PIIAction redact
	// only, else nil); keep it for Restore, never log it.
	Placeholders map[string]string
}

// Scan checks every text of one request (a prompt, or each message of a chat)
// and returns one verdict; placeholder numbering runs across all texts.
func (g *Guard) Scan(texts ...string) Verdict {
	sc := g.pool.Get().(*scratch)
	defer g.pool.Put(sc)
	v := Verdict{Redacted: make([]string, len(texts)), Categories: []string{}, PIITypes: []string{}, PIIMatches: map[string]int{}}
	var sql, shell bool
	var counts [numTypes]int
	var pl *placeholders
	for i, t := range texts {
		v.Redacted[i] = t
		needRaw := g.cfg.PII || g.cfg.Secrets || g.cfg.SQL || g.cfg.Shell || g.cfg.Injection
		if !needRaw {
			continue
		}
		scanRaw(t, &sc.raw)
		if g.cfg.Injection {
			v.Score = max(v.Score, g.scoreInjection(t, sc))
		}
		if g.cfg.SQL && !sql && len(sc.raw.sqlCand) > 0 {
			sql = sqlInjected(t, &sc.raw)
		}
		if g.cfg.Shell && !shell && len(sc.raw.shCand) > 0 {
			shell = shellInjected(t, &sc.raw)
		}
		if (g.cfg.SQL && !sql || g.cfg.Shell && !shell) && strings.IndexByte(t, '%') >= 0 {
			// a payload in a query string: "q=%27%20OR%201%3D1--"
			if dec, ok := percentDecoded(t); ok {
				r := &sc.rawDec
				scanRaw(dec, r)
				sql = sql || g.cfg.SQL && len(r.sqlCand) > 0 && sqlInjected(dec, r)
				shell = shell || g.cfg.Shell && len(r.shCand) > 0 && shellInjected(dec, r)
			}
		}
		kept := g.keepFindings(&sc.raw)
		for _, f := range kept {
			counts[typeIndex(f.typ)]++
		}
		if len(kept) > 0 && g.cfg.PIIAction == ActionRedact {
			if pl == nil {
				pl = newPlaceholders()
			}
			v.Redacted[i] = pl.redact(t, kept)
		}
	}
	v.Score = round3(v.Score)
	v.InjectionDetected = g.cfg.Injection && v.Score >= g.cfg.InjectionThreshold
	var pii, secrets bool
	for k, n := range counts {
		if n == 0 {
			continue
		}
		v.PIITypes = append(v.PIITypes, typeNames[k])
		v.PIIMatches[typeNames[k]] = n
		if secretTypes[typeNames[k]] {
			secrets = true
		} else {
			pii = true
		}
	}
	slices.Sort(v.PIITypes)
	if v.InjectionDetected {
		v.Categories = append(v.Categories, CategoryInjection)
	}
	if pii {
		v.Categories = append(v.Categories, CategoryPII)
	}
	if secrets {
		v.Categories = append(v.Categories, CategorySecrets)
	}
	if sql {
		v.Categories = append(v.Categories, CategorySQL)
	}
	if shell {
		v.Categories = append(v.Categories, CategoryShell)
	}
	slices.Sort(v.Categories)
	v.Blocked = v.InjectionDetected || sql || shell || ((pii || secrets) && g.cfg.PIIAction == ActionBlock)
	if pl != nil {
		v.Placeholders = pl.byToken
	}
	return v
}

func round3(x float64) float64 { return float64(int(x*1000+0.5)) / 1000 }

// keepFindings drops overlapping findings (the first, i.e. the most specific
// scanner, wins) and the categories switched off; it reorders in place.
func (g *Guard) keepFindings(st *rawState) []finding {
	fs := st.findings
	slices.SortStableFunc(fs, func(a, b finding) int { return a.start - b.start })
	out := fs[:0]
	last := -1
	for _, f := range fs {
		if f.start < last {
			continue
		}
		if secretTypes[f.typ] && !g.cfg.Secrets || !secretTypes[f.typ] && !g.cfg.PII {
			continue
		}
		out = append(out, f)
		last = f.end
	}
	st.findings = out
	return out
}

// typeNames in SPEC.md order; typeIndex maps a name back.
var typeNames = [...]string{TypeEmail, TypeCreditCard, TypeSSN, TypeTaxID, TypeAPIKey, TypePhone, TypeIBAN, TypeIP,
	TypeAWSKey, TypeGCPKey, TypeGitHubToken, TypeGitLabToken, TypeSlackToken, TypeOpenAIKey, TypeAnthropicKey, TypeJWT, TypePrivateKey}

const numTypes = len(typeNames)

func typeIndex(t string) int {
	for i, n := range typeNames {
		if n == t {
			return i
		}
	}
	return 0
}

// placeholders numbers values per type; the same value gets the same token
// everywhere in one request, so the model sees consistent references.
type placeholders struct {
	byToken map[string]string
	byValue map[string]string
	next    [numTypes]int
}

func newPlaceholders() *placeholders {
	return &placeholders{byToken: map[string]string{}, byValue: map[string]string{}}
}

func (p *placeholders) token(typ, value string) string {
	key := typ + "\x00" + value
	if t, ok := p.byValue[key]; ok {
		return t
	}
	k := typeIndex(typ)
	p.next[k]++
	t := "[" + strings.ToUpper(typ) + "_" + strconv.Itoa(p.next[k]) + "]"
	p.byValue[key] = t
	p.byToken[t] = value
	return t
}

func (p *placeholders) redact(s string, fs []finding) string {
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, f := range fs {
		b.WriteString(s[last:f.start])
		b.WriteString(p.token(f.typ, s[f.start:f.end]))
		last = f.end
	}
	b.WriteString(s[last:])
	return b.String()
}
