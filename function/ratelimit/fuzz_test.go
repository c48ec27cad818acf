package ratelimit

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseSpec: any RATE_LIMIT value either parses to a usable limit that
// renders and parses back to itself, or is an ErrSpec; never a panic, a zero
// or negative period, or a limiter that cannot take.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"10/minute", "10 / minute", "10 per minute", "10/minutes", "100 per 1 hour", "5/second",
		"1/day", "1000000000/day", "1 per 100000 day", "7 per 3 hours", " 3/HOUR ", "10/fortnight",
		"-1/minute", "0/minute", "10", "10/", "/minute", "10 per 0 minute", "1e3/minute", "10/ 2 minute",
		"99999999999999999999/second", "10//minute", "10 per per minute",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := ParseSpec(s)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("ParseSpec(%q) error %v is not ErrSpec", s, err)
			}
			return
		}
		if spec.Count <= 0 || spec.Period <= 0 {
			t.Fatalf("ParseSpec(%q) = %+v: count and period must be positive", s, spec)
		}
		again, err := ParseSpec(spec.String())
		if err != nil || again.Count != spec.Count || again.Period != spec.Period {
			t.Fatalf("ParseSpec(%q) = %+v renders as %q, which parses to %+v, %v", s, spec, spec.String(), again, err)
		}
		l := New(spec)
		d := l.Take("k", 1)
		if !d.Allowed || d.Limit != spec.Count || d.Remaining < 0 || d.Reset.Before(time.Now().Add(-time.Second)) {
			t.Fatalf("first Take under %+v: %+v", spec, d)
		}
	})
}
