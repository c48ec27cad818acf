// Package ratelimit parses limit specs such as "10/minute" and keeps one
// token bucket (golang.org/x/time/rate) per client key, in memory, per
// instance.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Spec is a limit of Count requests per Period.
type Spec struct {
	Count  int
	Period time.Duration
	unit   string
}

// ErrSpec is returned for a malformed spec.
var ErrSpec = errors.New(`want "N/second|minute|hour|day" or "N per minute"`)

var units = map[string]time.Duration{
	"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour,
}

// ParseSpec accepts "10/minute", "10 / minute", "10 per minute", "10/minutes"
// and "100 per 1 hour" (the forms the original service's limits library took).
func ParseSpec(s string) (Spec, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	var count, rest string
	if c, r, ok := strings.Cut(t, "/"); ok {
		count, rest = c, r
	} else if c, r, ok := strings.Cut(t, " per "); ok {
		count, rest = c, r
	} else {
		return Spec{}, fmt.Errorf("%q: %w", s, ErrSpec)
	}
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if err != nil || n <= 0 || n > 1_000_000_000 {
		return Spec{}, fmt.Errorf("%q: %w", s, ErrSpec)
	}
	fields := strings.Fields(rest)
	mult := 1
	if len(fields) == 2 {
		m, err := strconv.Atoi(fields[0])
		if err != nil || m <= 0 || m > 1_000_000 {
			return Spec{}, fmt.Errorf("%q: %w", s, ErrSpec)
		}
		mult, fields = m, fields[1:]
	}
	if len(fields) != 1 {
		return Spec{}, fmt.Errorf("%q: %w", s, ErrSpec)
	}
	unit := strings.TrimSuffix(fields[0], "s")
	d, ok := units[unit]
	// A period beyond a year is a typo, and beyond ~290 years it would
	// overflow time.Duration.
	if !ok || time.Duration(mult) > 366*24*time.Hour/d {
		return Spec{}, fmt.Errorf("%q: %w", s, ErrSpec)
	}
	return Spec{Count: n, Period: time.Duration(mult) * d, unit: unit}, nil
}

// String renders the spec the way the original service's 429 detail did:
// "10 per 1 minute".
func (s Spec) String() string {
	if s.unit == "" {
		return fmt.Sprintf("%d per %s", s.Count, s.Period)
	}
	n := int64(s.Period / units[s.unit])
	return fmt.Sprintf("%d per %d %s", s.Count, n, s.unit)
}

// Decision is the outcome of one Take.
type Decision struct {
	Allowed    bool
	Limit      int
	Remaining  int
	Reset      time.Time     // when the bucket is full again
	RetryAfter time.Duration // when denied: wait before the next request can pass
}

// Limiter holds one bucket per key. Idle full buckets are swept so memory is
// bounded by the number of keys active within one period.
type Limiter struct {
	spec  Spec
	every rate.Limit
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	lastSweep time.Time
	maxKeys   int
}

// New returns a Limiter for spec.
func New(spec Spec) *Limiter {
	return &Limiter{
		spec:    spec,
		every:   rate.Limit(float64(spec.Count) / spec.Period.Seconds()),
		now:     time.Now,
		buckets: map[string]*rate.Limiter{},
		maxKeys: 100_000,
	}
}

// Spec returns the limiter's spec.
func (l *Limiter) Spec() Spec { return l.spec }

func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys || now.Sub(l.lastSweep) > l.spec.Period {
			l.sweep(now)
		}
		b = rate.NewLimiter(l.every, l.spec.Count)
		l.buckets[key] = b
	}
	return b
}

// sweep drops buckets that have refilled completely: forgetting them changes
// nothing, since a new bucket starts full.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.spec.Count) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxKeys {
		// Under a flood of distinct keys, prefer bounded memory over
		// exactness: the evicted clients get a fresh bucket.
		for k := range l.buckets {
			delete(l.buckets, k)
			if len(l.buckets) < l.maxKeys/2 {
				break
			}
		}
	}
}

// Take spends n tokens of key's bucket if it holds them.
func (l *Limiter) Take(key string, n int) Decision {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(key, now)
	ok := b.AllowN(now, n)
	return l.decision(b, now, ok, n)
}

// Blocked reports, without spending, whether key's bucket is empty.
func (l *Limiter) Blocked(key string) (bool, Decision) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		return false, Decision{Allowed: true, Limit: l.spec.Count, Remaining: l.spec.Count, Reset: now}
	}
	d := l.decision(b, now, b.TokensAt(now) >= 1, 1)
	return !d.Allowed, d
}

func (l *Limiter) decision(b *rate.Limiter, now time.Time, ok bool, n int) Decision {
	tokens := b.TokensAt(now)
	d := Decision{Allowed: ok, Limit: l.spec.Count, Remaining: max(0, int(math.Floor(tokens)))}
	perToken := time.Duration(float64(time.Second) / float64(l.every))
	missing := float64(l.spec.Count) - tokens
	d.Reset = now.Add(time.Duration(missing * float64(perToken)))
	if !ok {
		need := float64(n) - tokens
		d.RetryAfter = time.Duration(need * float64(perToken))
	}
	return d
}
