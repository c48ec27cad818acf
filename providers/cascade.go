package providers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Step statuses in cascade_path.
const (
	StepSuccess = "success"
	StepFailed  = "failed"
	StepTimeout = "timeout"
	StepSkipped = "skipped"
)

// Step is one entry of cascade_path.
type Step struct {
	Provider  string  `json:"provider"`
	Model     string  `json:"model"`
	Status    string  `json:"status"`
	Reason    *string `json:"reason"`
	LatencyMS int64   `json:"latency_ms"`
}

// Result is the cascade's successful outcome.
type Result struct {
	Response *Response
	Provider string
	Model    string
	Steps    []Step
	// CostUSD is nil when the model is not in the pricing table or the
	// provider reported no usage: unknown is not zero.
	CostUSD *float64
}

// ErrAllFailed and ErrDeadline are matched with errors.Is on a *CascadeError.
var (
	ErrAllFailed = errors.New("all LLM providers failed")
	ErrDeadline  = errors.New("gateway timeout")
)

// CascadeError carries the steps tried when no provider answered. It matches
// ErrDeadline when the overall deadline ran out first, ErrAllFailed
// otherwise, and ErrSafetyBlocked (via Blocked) for a provider safety block.
type CascadeError struct {
	Steps    []Step
	Timeout  bool
	Canceled bool   // the caller's context was canceled (client went away)
	Blocked  *Error // non-nil when a provider's own safety filter stopped the cascade
}

func (e *CascadeError) Error() string {
	switch {
	case e.Blocked != nil:
		return e.Blocked.Error()
	case e.Timeout:
		return ErrDeadline.Error()
	case e.Canceled:
		return "request canceled by the client"
	}
	return ErrAllFailed.Error()
}

func (e *CascadeError) Is(target error) bool {
	switch target {
	case ErrSafetyBlocked:
		return e.Blocked != nil
	case ErrDeadline:
		return e.Blocked == nil && e.Timeout
	case ErrAllFailed:
		return e.Blocked == nil && !e.Timeout
	case context.Canceled:
		return e.Canceled
	case context.DeadlineExceeded:
		return e.Timeout
	}
	return false
}

// CascadeConfig configures a Cascade.
type CascadeConfig struct {
	Providers      []Provider    // in order
	AttemptTimeout time.Duration // per provider attempt (PROVIDER_TIMEOUT)
	Pricing        Pricing
	// Keys maps provider name to its key source, so that a 401/403 refreshes
	// the key once and retries that provider (rotated secret). May be nil.
	Keys map[string]KeySource

	// RetryMax is how many times a provider is asked again after a
	// retryable failure (429, 408, 409, 5xx, network, timeout) before the
	// cascade falls over (RETRY_MAX, default 0: off). With retries on, each
	// provider's turn may use at most its share of the request's remaining
	// deadline, so the last one still gets a fair try.
	RetryMax int
	// RetryBackoff is the first retry's wait before jitter, doubling per
	// retry up to 4s; a provider's Retry-After wins when longer
	// (RETRY_BACKOFF, default 250ms).
	RetryBackoff time.Duration

	// CooldownAfter consecutive retryable failures put a provider to cool
	// down on this instance: skipped for CooldownBase, doubling per trip up
	// to CooldownMax (or the provider's Retry-After if longer), then probed
	// by one request (COOLDOWN_AFTER default 5, negative: off;
	// COOLDOWN_BASE default 5s; COOLDOWN_MAX default 2m).
	CooldownAfter int
	CooldownBase  time.Duration
	CooldownMax   time.Duration

	// HedgeAfter, when positive, starts the next provider too if the
	// current one has not answered after this long; the first good answer
	// wins and the other call is canceled (HEDGE_AFTER, default 0: off).
	HedgeAfter time.Duration

	// Now is the clock cool-downs read (tests); nil means time.Now.
	Now func() time.Time
}

// DefaultAttemptTimeout is PROVIDER_TIMEOUT's default.
const DefaultAttemptTimeout = 20 * time.Second

// Cascade tries its providers in order until one answers. It holds no
// per-request state and is safe for concurrent use.
//
// Each attempt goes through try (streamTry for Stream), the one place that
// times, classifies and records a call. The rest is shared by Complete and
// Stream: inOrder (order of preference, cooling providers as the last
// resort), retrying (cool-downs and same-provider retries), withFreshKey
// and hedge. A stream attempt ends at its first content, so a stream is
// retried, hedged or fallen over only before any text was handed out.
type Cascade struct {
	providers []Provider
	timeout   time.Duration
	pricing   Pricing
	keys      map[string]KeySource

	retryMax        int
	retryBackoff    time.Duration
	retryBackoffMax time.Duration
	hedgeAfter      time.Duration

	// breakers is shared with every cascade Prefer derives; brk is this
	// cascade's breaker per provider, in order (nil entries: cool-downs off).
	breakers *breakers
	brk      []*breaker
}

// NewCascade copies cfg. A zero AttemptTimeout means DefaultAttemptTimeout; a
// nil Pricing means DefaultPricing.
func NewCascade(cfg CascadeConfig) *Cascade {
	c := &Cascade{
		providers: slices.Clone(cfg.Providers),
		timeout:   cfg.AttemptTimeout,
		pricing:   cfg.Pricing,
		keys:      maps.Clone(cfg.Keys),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultAttemptTimeout
	}
	if c.pricing == nil {
		c.pricing = DefaultPricing()
	}
	c.retryMax = max(cfg.RetryMax, 0)
	c.retryBackoff = cmp.Or(max(cfg.RetryBackoff, 0), DefaultRetryBackoff)
	c.retryBackoffMax = max(DefaultRetryBackoffMax, c.retryBackoff)
	c.hedgeAfter = max(cfg.HedgeAfter, 0)
	bs := &breakers{
		threshold: cmp.Or(cfg.CooldownAfter, DefaultCooldownAfter),
		base:      cmp.Or(max(cfg.CooldownBase, 0), DefaultCooldownBase),
		max:       cmp.Or(max(cfg.CooldownMax, 0), DefaultCooldownMax),
		now:       cfg.Now,
		m:         map[string]*breaker{},
	}
	bs.max = max(bs.max, bs.base)
	if bs.now == nil {
		bs.now = time.Now
	}
	c.breakers = bs
	c.brk = bs.forAll(c.providers)
	return c
}

// Providers returns the providers in cascade order (a copy).
func (c *Cascade) Providers() []Provider { return slices.Clone(c.providers) }

// ModelSwitcher is a provider that can call another model of its own
// (Gemini and every OpenAI-compatible provider are).
type ModelSwitcher interface {
	WithModel(model string) Provider
}

// Errors from Prefer.
var (
	ErrUnknownProvider = errors.New("provider not configured")
	ErrFixedModel      = errors.New("provider cannot switch models")
)

// Prefer returns a cascade that tries provider name with model first and
// then the configured order (including name's configured model). An empty
// model, or the configured one, just moves that provider to the front. The
// model string is passed to the provider as is: whether a client may name
// any model is the caller's policy to enforce.
func (c *Cascade) Prefer(name, model string) (*Cascade, error) {
	i := slices.IndexFunc(c.providers, func(p Provider) bool { return p.Name() == name })
	if i < 0 {
		return nil, ErrUnknownProvider
	}
	p := c.providers[i]
	order := make([]Provider, 0, len(c.providers)+1)
	if model == "" || model == p.Model() {
		order = append(order, p)
		order = append(order, c.providers[:i]...)
		order = append(order, c.providers[i+1:]...)
	} else {
		ms, ok := p.(ModelSwitcher)
		if !ok {
			return nil, ErrFixedModel
		}
		order = append(order, ms.WithModel(model))
		order = append(order, c.providers...)
	}
	cp := *c
	cp.providers = order
	cp.brk = c.breakers.forAll(order)
	return &cp, nil
}

// Pricing returns the table used for CostUSD.
func (c *Cascade) Pricing() Pricing { return c.pricing }

// Complete runs req through the providers in order. The overall deadline is
// ctx's; each attempt is further bounded by the attempt timeout. A provider
// cooling down is skipped (a skipped step) and asked only as a last resort,
// after every other one failed. Every failure is a *CascadeError carrying
// the steps tried.
func (c *Cascade) Complete(ctx context.Context, req Request) (*Result, error) {
	if c.hedgeAfter > 0 && len(c.providers) > 1 {
		return c.hedged(ctx, req)
	}
	steps := make([]Step, 0, len(c.providers)+1)
	var res *Result
	err := c.inOrder(ctx, &steps, func(i, left int, lastResort bool) error {
		resp, err := c.turn(ctx, i, req, &steps, left, lastResort)
		if err == nil {
			res = c.result(c.providers[i], resp, steps)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// inOrder is the cascade's order of preference, shared by Complete and
// Stream: each provider's turn in order, then the cooling ones as a last
// resort. turn returns nil when provider i answered (the cascade is over),
// errCooling when its breaker skipped it, or its failure. The result is nil
// or a *CascadeError.
func (c *Cascade) inOrder(ctx context.Context, steps *[]Step, turn func(i, left int, lastResort bool) error) error {
	var cooling []int
	// next runs provider i's turn; done ends the cascade, with err nil for
	// an answer.
	next := func(i, left int, lastResort bool) (done bool, err error) {
		if ctx.Err() != nil {
			return true, stopped(ctx, *steps)
		}
		err = turn(i, left, lastResort)
		switch {
		case errors.Is(err, errCooling):
			cooling = append(cooling, i)
			return false, nil
		case err == nil:
			return true, nil
		case ctx.Err() != nil:
			return true, stopped(ctx, *steps)
		}
		// A provider's own safety block is a verdict on the prompt, not an
		// outage: asking the next provider would be shopping for a yes.
		if pe, ok := errors.AsType[*Error](err); ok && pe.Kind == KindSafety {
			return true, &CascadeError{Steps: *steps, Blocked: pe}
		}
		return false, nil
	}
	for i := range c.providers {
		if done, err := next(i, c.usableFrom(i), false); done {
			return err
		}
	}
	// Every provider in service failed. A cooling one is skipped to save
	// time, not because it cannot answer: before giving up, ask it too.
	// This keeps cool-downs from costing answers when failures are spread
	// over all providers rather than one being down.
	for k, i := range slices.Clone(cooling) {
		if done, err := next(i, len(cooling)-k, true); done {
			return err
		}
	}
	return &CascadeError{Steps: *steps}
}

// result is a successful outcome. Token counts come from the upstream
// body: a negative one (a broken or hostile upstream) is clamped to zero so
// that it can never make a negative cost.
func (c *Cascade) result(p Provider, resp *Response, steps []Step) *Result {
	u := &resp.Usage
	u.PromptTokens, u.CompletionTokens, u.TotalTokens = max(u.PromptTokens, 0), max(u.CompletionTokens, 0), max(u.TotalTokens, 0)
	return &Result{Response: resp, Provider: p.Name(), Model: p.Model(), Steps: steps,
		CostUSD: c.pricing.Cost(p.Name(), p.Model(), resp.Usage)}
}

// usableFrom counts the providers from i on that are not cooling down (at
// least 1), for the deadline share. Only retries use it.
func (c *Cascade) usableFrom(i int) int {
	if c.retryMax == 0 {
		return 1
	}
	n := 0
	for j := i; j < len(c.providers); j++ {
		if b := c.breakerAt(j); b == nil {
			n++
		} else if ok, _ := b.peek(); ok {
			n++
		}
	}
	return max(n, 1)
}

// attempt is one call to a provider, and after a refused key one more
// call if re-reading the key found a new one (a rotated secret).
func (c *Cascade) attempt(ctx context.Context, p Provider, req Request, steps *[]Step) (*Response, error) {
	var resp *Response
	err := c.withFreshKey(ctx, p, func() (err error) {
		resp, err = c.try(ctx, p, req, steps)
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// withFreshKey runs call, and once more when the provider refused its key
// (401/403) and re-reading the key found a different one: a rotated secret
// should cost one retry, not the provider.
func (c *Cascade) withFreshKey(ctx context.Context, p Provider, call func() error) error {
	ks := c.keys[p.Name()]
	var used string
	var usedErr error
	if ks != nil {
		// The key the provider is about to use (a cached read), to tell a
		// rotated secret from the same refused one after a 401/403.
		used, usedErr = ks.Key(ctx)
	}
	err := call()
	if err == nil || ctx.Err() != nil || ks == nil {
		return err
	}
	if pe, ok := errors.AsType[*Error](err); !ok || pe.Kind != KindAuth {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	fresh, rerr := ks.Refresh(rctx)
	cancel()
	if rerr != nil || fresh == "" || (usedErr == nil && fresh == used) {
		return err
	}
	return call()
}

// try makes one bounded call and records its step.
func (c *Cascade) try(ctx context.Context, p Provider, req Request, steps *[]Step) (*Response, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	start := time.Now()
	resp, err := p.Complete(actx, req)
	latency := time.Since(start)
	// Only an attempt deadline of our own counts as "timeout after"; the
	// caller's deadline or cancellation is reported as such.
	attemptExpired := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	if err == nil && resp == nil {
		err = &Error{Provider: p.Name(), Kind: KindEmpty, Message: "empty response"}
	}

	step := Step{Provider: p.Name(), Model: p.Model(), Status: StepSuccess, LatencyMS: latency.Milliseconds()}
	if err != nil {
		var reason string
		step.Status, reason = c.classify(ctx, err, attemptExpired, c.timeout)
		step.Reason = &reason
	}
	*steps = append(*steps, step)
	return resp, err
}

// classify gives a failed attempt's step status and a reason safe to show;
// limit is the attempt's own timeout.
func (c *Cascade) classify(ctx context.Context, err error, attemptExpired bool, limit time.Duration) (string, string) {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return StepFailed, "canceled by client"
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return StepTimeout, "request deadline exceeded"
	case attemptExpired:
		return StepTimeout, fmt.Sprintf("timeout after %s", limit)
	}
	pe, ok := errors.AsType[*Error](err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) {
			return StepTimeout, "timeout"
		}
		// A foreign error's text is unknown territory: never echo it.
		return StepFailed, "provider error"
	}
	if pe.Kind == KindTimeout {
		return StepTimeout, "timeout"
	}
	return StepFailed, Reason(pe)
}

// Reason is the short, client-safe description of a provider failure used in
// cascade_path.
func Reason(e *Error) string {
	if e.Message != "" {
		return e.Message
	}
	switch e.Kind {
	case KindNetwork:
		return "network error"
	case KindTimeout:
		return "timeout"
	case KindStatus, KindAuth:
		return statusMessage(e.Status, e.Code)
	case KindBody:
		return "error in response body"
	case KindMalformed:
		return "malformed response"
	case KindEmpty:
		return "empty response"
	case KindSafety:
		return ErrSafetyBlocked.Error()
	case KindCanceled:
		return "canceled by client"
	}
	return "provider error"
}

// stopped is the error for a caller context that ended the cascade.
func stopped(ctx context.Context, steps []Step) *CascadeError {
	if errors.Is(ctx.Err(), context.Canceled) {
		return &CascadeError{Steps: steps, Canceled: true}
	}
	return &CascadeError{Steps: steps, Timeout: true}
}
