package providers

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Breaker states as /health and /metrics report them.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half_open"
)

// Cool-down defaults (COOLDOWN_AFTER, COOLDOWN_BASE, COOLDOWN_MAX).
const (
	DefaultCooldownAfter = 5
	DefaultCooldownBase  = 5 * time.Second
	DefaultCooldownMax   = 2 * time.Minute
)

// ProviderHealth is one provider's cool-down state on this instance.
type ProviderHealth struct {
	Name  string `json:"provider"`
	Model string `json:"model"`
	// State is closed (in use), open (cooling down, skipped) or half_open
	// (cool-down over: the next request probes it).
	State string `json:"state"`
	// ConsecutiveFailures counts retryable failures since the last success.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Trips counts how often it was put to cool down since the last success;
	// each trip doubles the cool-down.
	Trips int `json:"trips"`
	// CoolingUntil is when an open breaker lets a probe through; zero otherwise.
	CoolingUntil time.Time `json:"cooling_until,omitzero"`
}

// Usable reports whether requests may reach the provider now or at the next
// probe: everything but a cool-down still running.
func (h ProviderHealth) Usable() bool { return h.State != StateOpen }

// verdict is what an attempt's outcome means for the provider's health.
type verdict int

const (
	neutral verdict = iota // says nothing about the provider (client gone, 400, auth, safety block)
	healthy
	unhealthy
)

// healthOf judges an attempt: only failures a retry or a wait might cure
// (overload, outage, a broken answer) count against the provider. A refused
// key or a bad request would fail the same way on every provider, and a
// cancel or a request deadline is ours, not theirs.
func healthOf(err error, callerDone bool) verdict {
	if err == nil {
		return healthy
	}
	if callerDone {
		return neutral
	}
	pe, ok := errors.AsType[*Error](err)
	if !ok {
		// A foreign error is opaque; only a timeout is known to be the
		// provider's.
		if errors.Is(err, context.DeadlineExceeded) {
			return unhealthy
		}
		return neutral
	}
	switch pe.Kind {
	case KindNetwork, KindTimeout, KindMalformed, KindBody, KindEmpty:
		return unhealthy
	case KindStatus:
		if retryableStatus(pe.Status) {
			return unhealthy
		}
	case KindSafety:
		return healthy
	}
	return neutral
}

// breaker is a per-provider circuit breaker with a cool-down that doubles on
// each trip. sony/gobreaker has a fixed open period and reads the wall
// clock itself; a growing cool-down that honours the provider's own
// Retry-After, and tests that do not sleep through it, need these few lines.
type breaker struct {
	threshold int
	base, max time.Duration
	now       func() time.Time

	mu       sync.Mutex
	failures int
	trips    int
	until    time.Time // open until; zero when closed
	probing  bool      // a half-open probe is in flight
}

func (b *breaker) stateLocked(now time.Time) string {
	switch {
	case b.until.IsZero():
		return StateClosed
	case now.Before(b.until):
		return StateOpen
	}
	return StateHalfOpen
}

// allow reports whether a call may go ahead; probe is true for the one call
// that tests a provider whose cool-down is over. Other callers are turned
// away while a probe is in flight, so a recovering upstream gets one
// request, not the whole backlog.
func (b *breaker) allow() (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.stateLocked(b.now()) {
	case StateClosed:
		return true, false
	case StateOpen:
		return false, false
	}
	if b.probing {
		return false, false
	}
	b.probing = true
	return true, true
}

// record takes one attempt's outcome. hint is the provider's Retry-After:
// a cool-down is never shorter than what the provider asked for.
func (b *breaker) record(v verdict, probe bool, hint time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch v {
	case healthy:
		b.failures, b.trips, b.until = 0, 0, time.Time{}
	case unhealthy:
		b.failures++
		if probe || (b.until.IsZero() && b.failures >= b.threshold) {
			b.trip(hint)
		}
	}
}

func (b *breaker) trip(hint time.Duration) {
	d := b.base << min(b.trips, 20)
	if d <= 0 || d > b.max {
		d = b.max
	}
	d = max(d, min(hint, b.max))
	b.trips++
	b.until = b.now().Add(d)
}

// peek reports whether the provider is usable now without taking a probe.
func (b *breaker) peek() (usable bool, state string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	state = b.stateLocked(b.now())
	return state != StateOpen, state
}

func (b *breaker) health() (state string, failures, trips int, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	state = b.stateLocked(b.now())
	if state == StateOpen {
		until = b.until
	}
	return state, b.failures, b.trips, until
}

// breakers holds one breaker per provider and model, shared by a cascade and
// the cascades Prefer derives from it: an outage seen through /query counts
// for /v1/chat/completions too.
type breakers struct {
	threshold int // <= 0: cool-downs off
	base, max time.Duration
	now       func() time.Time

	mu sync.Mutex
	m  map[string]*breaker
}

func (bs *breakers) get(p Provider) *breaker {
	if bs == nil || bs.threshold <= 0 {
		return nil
	}
	k := Key(p.Name(), p.Model())
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[k]
	if b == nil {
		b = &breaker{threshold: bs.threshold, base: bs.base, max: bs.max, now: bs.now}
		bs.m[k] = b
	}
	return b
}

// breakerAt is the i-th provider's breaker, nil when cool-downs are off.
func (c *Cascade) breakerAt(i int) *breaker {
	if i < len(c.brk) {
		return c.brk[i]
	}
	return nil
}

// admit asks the i-th provider's breaker for a turn. When the provider is
// cooling down it records a skipped step and returns ok false; probe is
// true for the one call that tests a provider whose cool-down is over.
func (c *Cascade) admit(i int, steps *[]Step) (b *breaker, probe, ok bool) {
	b = c.breakerAt(i)
	if b == nil {
		return nil, false, true
	}
	if ok, probe = b.allow(); !ok {
		p := c.providers[i]
		reason := reasonCooling
		*steps = append(*steps, Step{Provider: p.Name(), Model: p.Model(), Status: StepSkipped, Reason: &reason})
	}
	return b, probe, ok
}

// report tells b (may be nil) how an admitted call went; callerDone is
// whether the caller's context had ended, which makes any failure ours.
func report(b *breaker, probe bool, err error, callerDone bool) {
	if b != nil {
		b.record(healthOf(err, callerDone), probe, retryHint(err))
	}
}

// forAll returns the breaker of each provider, in order.
func (bs *breakers) forAll(ps []Provider) []*breaker {
	out := make([]*breaker, len(ps))
	for i, p := range ps {
		out[i] = bs.get(p)
	}
	return out
}

// Health reports each provider's cool-down state on this instance, in
// cascade order. A provider never tried is closed.
func (c *Cascade) Health() []ProviderHealth {
	out := make([]ProviderHealth, 0, len(c.providers))
	for i, p := range c.providers {
		h := ProviderHealth{Name: p.Name(), Model: p.Model(), State: StateClosed}
		if b := c.breakerAt(i); b != nil {
			h.State, h.ConsecutiveFailures, h.Trips, h.CoolingUntil = b.health()
		}
		out = append(out, h)
	}
	return out
}
