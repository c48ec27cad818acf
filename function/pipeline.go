package function

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/llm-secure-gateway/gateway/function/guard"
	"github.com/llm-secure-gateway/gateway/function/ratelimit"
	"github.com/llm-secure-gateway/gateway/function/safety"
	"github.com/llm-secure-gateway/gateway/providers"
)

// admit runs the front of every JSON route in SPEC.md's order: body size
// (413), JSON syntax (422), key (401, or 429 past AUTH_FAILURE_LIMIT), fields
// (422, all at once), rate limit (429). fill decodes and validates the fields
// into the caller's request and returns how many requests it spends. It
// answers the client itself and returns false when the request stops here.
func (g *Gateway) admit(w http.ResponseWriter, r *http.Request, fill func(b *body) int) bool {
	data, ok := readBody(w, r)
	if !ok {
		return false
	}
	b, perr := parseBody(data)
	if perr != nil {
		writeDetail(w, r, http.StatusUnprocessableEntity, perr)
		return false
	}
	if _, ok := g.authenticate(w, r, unauthorizedDetail); !ok {
		return false
	}
	cost := fill(b)
	if len(b.errs) > 0 {
		g.peekRateHeaders(w, r)
		writeDetail(w, r, http.StatusUnprocessableEntity, b.errs)
		return false
	}
	return g.rateLimit(w, r, cost, limitedDetail)
}

// authenticate checks the presented key. It answers 429 itself while the
// client IP is over AUTH_FAILURE_LIMIT, whatever key it now carries, so the
// limit cannot be used as an oracle; and 401 for a missing or wrong key.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, unauthorized func(http.ResponseWriter, *http.Request)) (string, bool) {
	s := state(r.Context())
	if blocked, d := g.authFail.Blocked(s.clientIP); blocked {
		s.authFailed = true
		setRetryAfter(w, d)
		writeDetail(w, r, http.StatusTooManyRequests, "Too many failed authentication attempts")
		return "", false
	}
	key := presentedKey(r)
	digest, ok := g.keys.match(key)
	if !ok {
		s.authFailed = true
		g.authFail.Take(s.clientIP, 1)
		unauthorized(w, r)
		return "", false
	}
	s.keyID = keyID(digest)
	return key, true
}

func unauthorizedDetail(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="llm-secure-gateway"`)
	writeDetail(w, r, http.StatusUnauthorized, "Invalid or missing API key")
}

func (g *Gateway) limitKey(r *http.Request) string {
	s := state(r.Context())
	if g.cfg.RateLimitBy == "ip" {
		return "ip:" + s.clientIP
	}
	return "key:" + s.keyID
}

// rateLimit spends n requests of the caller's budget, sets the X-RateLimit-*
// headers, and answers 429 itself when the budget is spent.
func (g *Gateway) rateLimit(w http.ResponseWriter, r *http.Request, n int, limited func(http.ResponseWriter, *http.Request, string)) bool {
	d := g.limiter.Take(g.limitKey(r), n)
	setRateHeaders(w, d)
	if !d.Allowed {
		state(r.Context()).rateLimited = true
		setRetryAfter(w, d)
		limited(w, r, "Rate limit exceeded: "+g.limiter.Spec().String())
		return false
	}
	return true
}

// peekRateHeaders sets the X-RateLimit-* headers without spending, for
// answers a rate-limited route gives before its limit is checked.
func (g *Gateway) peekRateHeaders(w http.ResponseWriter, r *http.Request) {
	_, d := g.limiter.Blocked(g.limitKey(r))
	setRateHeaders(w, d)
}

func setRateHeaders(w http.ResponseWriter, d ratelimit.Decision) {
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(int64(math.Ceil(float64(d.Reset.UnixMilli())/1000)), 10))
}

func setRetryAfter(w http.ResponseWriter, d ratelimit.Decision) {
	secs := int64(math.Ceil(d.RetryAfter.Seconds()))
	w.Header().Set("Retry-After", strconv.FormatInt(max(1, secs), 10))
}

func limitedDetail(w http.ResponseWriter, r *http.Request, msg string) {
	writeDetail(w, r, http.StatusTooManyRequests, msg)
}

// scan runs the input guard over texts and records the verdict for the log.
func (g *Gateway) scan(r *http.Request, texts ...string) guard.Verdict {
	v := g.guard.Scan(texts...)
	s := state(r.Context())
	s.guardBlocked = v.Blocked
	s.guardCategories = v.Categories
	s.piiTypes = v.PIITypes
	s.injectionScore = v.Score
	return v
}

type guardBlock struct {
	Detail     string   `json:"detail"`
	Categories []string `json:"categories"`
	PIITypes   []string `json:"pii_types"`
	RequestID  string   `json:"request_id"`
}

func guardBlocked(w http.ResponseWriter, r *http.Request, v guard.Verdict) {
	writeJSON(w, http.StatusUnprocessableEntity, guardBlock{
		Detail: "Request blocked by input guard", Categories: nonNil(v.Categories),
		PIITypes: nonNil(v.PIITypes), RequestID: requestID(r.Context())})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// outcome is what the provider cascade and the AI safety check, run side by
// side, come to.
type outcome struct {
	result    *providers.Result
	err       error
	safety    safety.Verdict
	safetyRan bool
}

// complete runs the cascade under REQUEST_TIMEOUT with the AI safety check
// beside it. A flagged verdict cancels the provider call at once; a clean
// one adds no latency unless it is slower than the provider.
func (g *Gateway) complete(ctx context.Context, req providers.Request) outcome {
	return g.completeWith(ctx, g.cascade, req)
}

// completeWith is complete over a given cascade (a pinned model's).
func (g *Gateway) completeWith(ctx context.Context, cascade *providers.Cascade, req providers.Request) outcome {
	if !g.safety.Enabled() {
		res, err := cascade.Complete(ctx, req)
		return outcome{result: res, err: err}
	}
	cctx, ccancel := context.WithCancel(ctx)
	defer ccancel()
	type cascadeDone struct {
		res *providers.Result
		err error
	}
	cascadeCh := make(chan cascadeDone, 1)
	go func() {
		res, err := cascade.Complete(cctx, req)
		cascadeCh <- cascadeDone{res, err}
	}()
	safetyCh := g.startSafety(ctx, req)
	out := outcome{safetyRan: true}
	var done cascadeDone
	select {
	case out.safety = <-safetyCh:
		if out.safety.Flagged {
			ccancel()
			return out
		}
		done = <-cascadeCh
	case done = <-cascadeCh:
		out.safety = <-safetyCh
	}
	out.result, out.err = done.res, done.err
	return out
}

// startSafety runs the AI safety check on req's messages in the background,
// bounded by PROVIDER_TIMEOUT; its verdict arrives on the channel. A failed
// check becomes a verdict carrying Err, which the chain's fail mode decides.
func (g *Gateway) startSafety(ctx context.Context, req providers.Request) <-chan safety.Verdict {
	ch := make(chan safety.Verdict, 1)
	go func() {
		sctx, cancel := context.WithTimeout(ctx, g.cfg.ProviderTimeout)
		defer cancel()
		v, err := g.safety.Check(sctx, safetyMessages(req))
		if err != nil {
			v = safety.Verdict{Err: "safety check failed"}
		}
		ch <- v
	}()
	return ch
}

func (g *Gateway) noteOutcome(r *http.Request, o outcome) {
	s := state(r.Context())
	if o.safetyRan {
		s.safetyChecker = o.safety.Checker
		if s.safetyChecker == "" {
			s.safetyChecker = "unavailable"
		}
		s.safetyFlagged = o.safety.Flagged
		s.safetyMS = o.safety.LatencyMS
	}
	if o.result != nil {
		s.provider, s.model = o.result.Provider, o.result.Model
		s.steps = o.result.Steps
		u := o.result.Response.Usage
		s.usage = &u
		s.costUSD = o.result.CostUSD
	}
	var ce *providers.CascadeError
	if errors.As(o.err, &ce) {
		s.steps = ce.Steps
		switch {
		case ce.Blocked != nil:
			s.errorKind = "provider_safety_block"
		case ce.Timeout:
			s.errorKind = "gateway_timeout"
		case ce.Canceled:
			s.errorKind = "client_canceled"
		default:
			s.errorKind = "all_providers_failed"
		}
	}
}

// safetyReport is the AI safety check's part of a response: no gateway we
// know reports the guard's own latency and cost beside the provider's.
type safetyReport struct {
	Checker    string   `json:"checker"`
	Flagged    bool     `json:"flagged"`
	Categories []string `json:"categories"`
	LatencyMS  int64    `json:"latency_ms"`
	CostUSD    *float64 `json:"cost_estimate_usd"`
	Error      *string  `json:"error"`
}

func reportSafety(o outcome) *safetyReport {
	if !o.safetyRan {
		return nil
	}
	rep := &safetyReport{Checker: o.safety.Checker, Flagged: o.safety.Flagged,
		Categories: nonNil(o.safety.Categories), LatencyMS: o.safety.LatencyMS, CostUSD: o.safety.CostUSD}
	if o.safety.Err != "" {
		e := o.safety.Err
		rep.Error = &e
	}
	return rep
}

func latencyMS(start time.Time) int64 { return time.Since(start).Milliseconds() }
