package ratelimit

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in     string
		count  int
		period time.Duration
		str    string
	}{
		{"10/minute", 10, time.Minute, "10 per 1 minute"},
		{"10 / Minute", 10, time.Minute, "10 per 1 minute"},
		{"10 per minute", 10, time.Minute, "10 per 1 minute"},
		{"5/second", 5, time.Second, "5 per 1 second"},
		{"100/hours", 100, time.Hour, "100 per 1 hour"},
		{"1000/day", 1000, 24 * time.Hour, "1000 per 1 day"},
		{"100 per 2 hours", 100, 2 * time.Hour, "100 per 2 hour"},
	}
	for _, tt := range tests {
		s, err := ParseSpec(tt.in)
		if err != nil {
			t.Fatalf("ParseSpec(%q): %v", tt.in, err)
		}
		if s.Count != tt.count || s.Period != tt.period || s.String() != tt.str {
			t.Errorf("ParseSpec(%q) = %d/%v %q, want %d/%v %q", tt.in, s.Count, s.Period, s.String(), tt.count, tt.period, tt.str)
		}
	}
	for _, bad := range []string{"", "10", "ten/minute", "0/minute", "-1/minute", "10/fortnight", "10/", "/minute", "10 per", "10 per x minute", "10/1 2 minute", "1 per 1000000 day", "1 per 367 day"} {
		if _, err := ParseSpec(bad); !errors.Is(err, ErrSpec) {
			t.Errorf("ParseSpec(%q) err = %v, want ErrSpec", bad, err)
		}
	}
}

func TestLimiterTakeAndRefill(t *testing.T) {
	spec, _ := ParseSpec("3/minute")
	l := New(spec)
	now := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return now }
	for i := range 3 {
		d := l.Take("a", 1)
		if !d.Allowed || d.Remaining != 2-i || d.Limit != 3 {
			t.Fatalf("take %d: %+v", i, d)
		}
	}
	d := l.Take("a", 1)
	if d.Allowed || d.Remaining != 0 {
		t.Fatalf("4th take allowed: %+v", d)
	}
	if d.RetryAfter < 19*time.Second || d.RetryAfter > 21*time.Second {
		t.Errorf("RetryAfter = %v, want ~20s", d.RetryAfter)
	}
	if got := d.Reset.Sub(now); got < 59*time.Second || got > 61*time.Second {
		t.Errorf("Reset in %v, want ~60s", got)
	}
	if d := l.Take("b", 1); !d.Allowed {
		t.Errorf("other key limited: %+v", d)
	}
	now = now.Add(21 * time.Second)
	if d := l.Take("a", 1); !d.Allowed {
		t.Errorf("after refill: %+v", d)
	}
	if d := l.Take("a", 5); d.Allowed {
		t.Errorf("took more than the burst: %+v", d)
	}
}

func TestBlockedDoesNotSpend(t *testing.T) {
	spec, _ := ParseSpec("2/minute")
	l := New(spec)
	if blocked, _ := l.Blocked("ip"); blocked {
		t.Fatal("unknown key blocked")
	}
	l.Take("ip", 1)
	for range 5 {
		if blocked, _ := l.Blocked("ip"); blocked {
			t.Fatal("Blocked spent a token")
		}
	}
	l.Take("ip", 1)
	if blocked, d := l.Blocked("ip"); !blocked || d.RetryAfter <= 0 {
		t.Fatalf("want blocked with RetryAfter, got %v %+v", blocked, d)
	}
}

func TestSweepBoundsMemory(t *testing.T) {
	spec, _ := ParseSpec("1/second")
	l := New(spec)
	l.maxKeys = 100
	now := time.Unix(0, 0)
	l.now = func() time.Time { return now }
	for i := range 1000 {
		l.Take(fmt.Sprint(i), 1)
		now = now.Add(time.Millisecond)
	}
	if n := len(l.buckets); n > 100 {
		t.Fatalf("%d buckets kept, want ≤ 100", n)
	}
}

func BenchmarkTake(b *testing.B) {
	spec, _ := ParseSpec("1000000/second")
	l := New(spec)
	b.ReportAllocs()
	for b.Loop() {
		l.Take("key", 1)
	}
}
