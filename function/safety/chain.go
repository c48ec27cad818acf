// Package safety asks external classifiers (Gemini as an LLM judge, Lakera
// Guard v2) whether a conversation is harmful, as an ordered fallback chain
// with an explicit fail-open / fail-closed rule. It imports no cloud SDK: both
// checkers speak their vendor's HTTP wire format directly.
package safety

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Message is one chat turn to judge.
type Message struct{ Role, Content string }

// Verdict is the chain's decision. Every string in it is safe to return to a
// client or log: none carries a key or the judged text.
type Verdict struct {
	Flagged    bool
	Categories []string           // why it was flagged, sorted: non-empty exactly when Flagged
	Scores     map[string]float64 // category -> 0..1 (Lakera: 1 detected, 0 not), also when not flagged
	Checker    string             // which checker decided: "gemini", "lakera", or "" when none answered
	LatencyMS  int64              // total time spent on safety calls for this verdict
	CostUSD    *float64           // the safety calls' own cost when known, nil if unknown
	Err        string             // non-empty when every checker failed — safe, sanitised text
	Attempts   []Attempt          // one per checker tried, in order, so the decision path can be reported
}

// Attempt records one checker call within a verdict.
type Attempt struct {
	Checker   string
	LatencyMS int64
	Error     string // "" when the checker answered; otherwise the sanitised *Error text
}

// Checker is one classifier. Check returns an error (an *Error) when the
// classifier could not give an answer; a partially filled Verdict may carry
// the cost of a failed call.
type Checker interface {
	Name() string
	Check(ctx context.Context, msgs []Message) (Verdict, error)
}

// KeySource yields an API key; providers.StaticKey and the secrets package
// satisfy it. If it also has Refresh, a refused key (401/403, Gemini's
// API_KEY_INVALID) is re-read once and the call retried, for rotated secrets.
type KeySource interface {
	Key(ctx context.Context) (string, error)
}

type refresher interface {
	Refresh(ctx context.Context) (string, error)
}

// PriceFunc gives a model's USD price per million input and output tokens.
type PriceFunc func(model string) (inPerM, outPerM float64, ok bool)

// Config configures New. Zero values take the documented defaults.
type Config struct {
	Order      []string // from SAFETY_CHECK: "gemini", "lakera" (empty = off)
	Threshold  float64  // TOXICITY_THRESHOLD, default 0.7; applies to Gemini's scores
	FailClosed bool     // SAFETY_FAIL_MODE=closed

	GeminiBaseURL, GeminiModel string // default https://generativelanguage.googleapis.com, gemini-2.5-flash-lite
	GeminiKey                  KeySource
	// GeminiPrice prices the classifier's tokens; nil uses the built-in table,
	// which knows gemini-2.5-flash-lite only (an unknown model costs nil).
	GeminiPrice PriceFunc

	LakeraBaseURL   string    // default https://api.lakera.ai
	LakeraKey       KeySource // may be nil only for a self-hosted LakeraBaseURL (no auth)
	LakeraProjectID string

	HTTPClient *http.Client  // default: a client with no overall timeout (Timeout bounds each call)
	Timeout    time.Duration // per checker call, default 5s, so a hung checker still leaves time to fall back
}

// Defaults.
const (
	DefaultThreshold     = 0.7
	DefaultTimeout       = 5 * time.Second
	DefaultGeminiBaseURL = "https://generativelanguage.googleapis.com"
	DefaultGeminiModel   = "gemini-2.5-flash-lite"
	DefaultLakeraBaseURL = "https://api.lakera.ai"

	// CategoryUnavailable is the category of a fail-closed verdict.
	CategoryUnavailable = "safety_unavailable"
	// unavailableText is Verdict.Err when every checker failed.
	unavailableText = "safety check unavailable"

	// maxBody caps what we read from a classifier: both answer in a few KB.
	maxBody = 1 << 20
)

// Chain runs checkers in order; the first that answers decides.
type Chain struct {
	checkers   []Checker
	failClosed bool
	timeout    time.Duration
}

// New builds the chain from cfg. An empty Order gives a Chain whose Enabled()
// is false and whose Check returns a clean verdict without any call.
// Configuration errors name the environment variable at fault, never a value
// that could be secret.
func New(cfg Config) (*Chain, error) {
	c := &Chain{failClosed: cfg.FailClosed, timeout: cfg.Timeout}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	th := cfg.Threshold
	if th == 0 {
		th = DefaultThreshold
	}
	if !(th > 0 && th <= 1) { // also rejects NaN
		return nil, fmt.Errorf("TOXICITY_THRESHOLD must be in (0, 1], got %v", cfg.Threshold)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	seen := map[string]bool{}
	for _, name := range cfg.Order {
		if seen[name] {
			return nil, fmt.Errorf("SAFETY_CHECK: %q listed twice", name)
		}
		seen[name] = true
		switch name {
		case "gemini":
			g, err := newGemini(cfg, th, hc)
			if err != nil {
				return nil, err
			}
			c.checkers = append(c.checkers, g)
		case "lakera":
			l, err := newLakera(cfg, hc)
			if err != nil {
				return nil, err
			}
			c.checkers = append(c.checkers, l)
		default:
			return nil, fmt.Errorf("SAFETY_CHECK: unknown checker %q (want off, gemini, lakera)", name)
		}
	}
	return c, nil
}

// NewChain composes arbitrary checkers (e.g. a local classifier after the
// remote ones) under the same fallback and fail-mode rules as New.
func NewChain(failClosed bool, timeout time.Duration, checkers ...Checker) *Chain {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Chain{checkers: slices.Clone(checkers), failClosed: failClosed, timeout: timeout}
}

// Enabled reports whether any checker is configured; nil-safe.
func (c *Chain) Enabled() bool { return c != nil && len(c.checkers) > 0 }

// Check asks each checker in turn until one answers. When all fail it
// returns, with a nil error, a clean verdict (fail-open) or a flagged one with
// category safety_unavailable (fail-closed); Verdict.Err says so in both
// cases. The only error is the caller's own: when ctx ends first, Check
// returns at once with an error matching ctx.Err() (errors.Is), since the
// verdict is no longer wanted.
func (c *Chain) Check(ctx context.Context, msgs []Message) (Verdict, error) {
	if !c.Enabled() || !hasText(msgs) {
		return Verdict{}, nil
	}
	start := time.Now()
	var (
		cost     *float64
		attempts = make([]Attempt, 0, len(c.checkers))
	)
	for _, ch := range c.checkers {
		if err := ctx.Err(); err != nil {
			return Verdict{LatencyMS: msSince(start), CostUSD: cost, Attempts: attempts}, fmt.Errorf("safety: %w", err)
		}
		t0 := time.Now()
		cctx, cancel := context.WithTimeout(ctx, c.timeout)
		v, err := ch.Check(cctx, msgs)
		cancel()
		cost = addCost(cost, v.CostUSD)
		a := Attempt{Checker: ch.Name(), LatencyMS: msSince(t0)}
		if err == nil {
			attempts = append(attempts, a)
			v.Checker = ch.Name()
			v.LatencyMS = msSince(start)
			v.CostUSD = cost
			v.Attempts = attempts
			v.Err = ""
			switch {
			case !v.Flagged:
				v.Categories = nil
			case len(v.Categories) == 0:
				v.Categories = []string{"flagged"} // a Checker that gave no reason
			default:
				v.Categories = slices.Compact(slices.Sorted(slices.Values(v.Categories)))
			}
			return v, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			a.Error = "canceled"
			attempts = append(attempts, a)
			return Verdict{LatencyMS: msSince(start), CostUSD: cost, Attempts: attempts}, fmt.Errorf("safety: %w", ctxErr)
		}
		a.Error = safeErrorText(ch.Name(), err)
		attempts = append(attempts, a)
	}
	v := Verdict{LatencyMS: msSince(start), CostUSD: cost, Err: unavailableText, Attempts: attempts}
	if c.failClosed {
		v.Flagged = true
		v.Categories = []string{CategoryUnavailable}
	}
	return v, nil
}

// ParseOrder parses SAFETY_CHECK: "off" (or empty) gives nil; otherwise a
// comma-separated, duplicate-free list of "gemini" and "lakera".
func ParseOrder(s string) ([]string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" || s == "off" {
		return nil, nil
	}
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		name := strings.TrimSpace(part)
		switch name {
		case "gemini", "lakera":
		case "":
			return nil, errors.New("SAFETY_CHECK: empty entry (want off, gemini, lakera or gemini,lakera)")
		default:
			return nil, fmt.Errorf("SAFETY_CHECK: unknown checker %q (want off, gemini, lakera or gemini,lakera)", truncate(name, 32))
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("SAFETY_CHECK: %q listed twice", name)
		}
		out = append(out, name)
	}
	return out, nil
}

// Kind classifies a checker failure.
type Kind string

const (
	KindKey       Kind = "key"       // the key source failed
	KindNetwork   Kind = "network"   // connection refused, reset, DNS
	KindTimeout   Kind = "timeout"   // the per-call timeout ran out
	KindCanceled  Kind = "canceled"  // the caller's context ended
	KindAuth      Kind = "auth"      // 401/403, or Gemini's 400 API_KEY_INVALID
	KindStatus    Kind = "status"    // any other non-2xx
	KindMalformed Kind = "malformed" // undecodable, oversized, or missing fields
)

// Error is a checker failure. Its text is built only from the checker name,
// the kind, the HTTP status and the vendor's status word, so it can never
// carry a key or the judged text; Err keeps the cause for errors.Is/As.
type Error struct {
	Checker string
	Kind    Kind
	Status  int    // HTTP status, 0 when none
	Code    string // vendor status word such as RESOURCE_EXHAUSTED, validated to [A-Z_]
	Detail  string // fixed text chosen by this package, e.g. "missing flagged"
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Checker)
	b.WriteString(": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.Status)
	} else {
		b.WriteString(string(e.Kind))
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// safeErrorText keeps the report's reason to our own *Error text; anything
// else (a third-party Checker's error) is reduced to a fixed phrase.
func safeErrorText(checker string, err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return checker + ": failed"
}

// call is one authenticated POST of a JSON body, shared by both checkers.
type call struct {
	checker string
	client  *http.Client
	url     string
	key     KeySource // nil: no auth header
	setKey  func(h http.Header, key string)
	// isAuthFailure reports a refused key, which triggers one Refresh.
	isAuthFailure func(status int, body []byte) bool
}

// do returns the 2xx body, or an *Error. Non-2xx bodies are returned inside
// the error path only as a status word via codeOf, never verbatim.
func (c call) do(ctx context.Context, body []byte, codeOf func([]byte) string) ([]byte, error) {
	var key string
	if c.key != nil {
		k, err := c.key.Key(ctx)
		if err != nil {
			return nil, &Error{Checker: c.checker, Kind: KindKey, Detail: "key unavailable", Err: err}
		}
		key = k
	}
	status, resp, err := c.post(ctx, body, key)
	if err == nil && c.key != nil && c.isAuthFailure(status, resp) {
		if r, ok := c.key.(refresher); ok {
			k, rerr := r.Refresh(ctx)
			if rerr != nil {
				return nil, &Error{Checker: c.checker, Kind: KindKey, Detail: "key refresh failed", Err: rerr}
			}
			status, resp, err = c.post(ctx, body, k)
		}
	}
	if err != nil {
		return nil, err
	}
	if status < 200 || status > 299 {
		kind := KindStatus
		if c.key != nil && c.isAuthFailure(status, resp) {
			kind = KindAuth
		}
		return nil, &Error{Checker: c.checker, Kind: kind, Status: status, Code: codeOf(resp)}
	}
	return resp, nil
}

func (c call) post(ctx context.Context, body []byte, key string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, &Error{Checker: c.checker, Kind: KindNetwork, Detail: "bad request", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.key != nil {
		c.setKey(req.Header, key)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return 0, nil, c.transportError(ctx, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		return 0, nil, c.transportError(ctx, err)
	}
	if len(data) > maxBody {
		return 0, nil, &Error{Checker: c.checker, Kind: KindMalformed, Status: 0, Detail: "answer too large"}
	}
	return res.StatusCode, data, nil
}

func (c call) transportError(ctx context.Context, err error) error {
	kind := KindNetwork
	var ne net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		kind = KindTimeout
	case ctx.Err() != nil:
		kind = KindCanceled
	}
	// *url.Error prints the URL; ours never holds a key, but keep the text
	// to the kind anyway and leave the cause to Unwrap.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &Error{Checker: c.checker, Kind: kind, Err: err}
}

func parseBaseURL(envName, raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%s must be an http(s) URL without query or credentials", envName)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func hasText(msgs []Message) bool {
	for _, m := range msgs {
		if strings.TrimSpace(m.Content) != "" {
			return true
		}
	}
	return false
}

func addCost(sum, c *float64) *float64 {
	if c == nil {
		return sum
	}
	v := *c
	if sum != nil {
		v += *sum
	}
	return &v
}

func msSince(t time.Time) int64 { return time.Since(t).Milliseconds() }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// statusWord accepts a vendor status word only if it looks like one
// (RESOURCE_EXHAUSTED), so nothing free-form from a body reaches our text.
func statusWord(s string) string {
	if len(s) == 0 || len(s) > 40 {
		return ""
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && r != '_' {
			return ""
		}
	}
	return s
}
