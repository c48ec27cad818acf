package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time source for cool-downs.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestBreakerStates(t *testing.T) {
	clk := newClock()
	b := &breaker{threshold: 2, base: time.Second, max: 5 * time.Second, now: clk.Now}
	state := func() string { s, _, _, _ := b.health(); return s }
	mustAllow := func(wantOK, wantProbe bool) {
		t.Helper()
		ok, probe := b.allow()
		if ok != wantOK || probe != wantProbe {
			t.Fatalf("allow() = %v, %v; want %v, %v (state %s)", ok, probe, wantOK, wantProbe, state())
		}
	}

	mustAllow(true, false)
	b.record(unhealthy, false, 0)
	b.record(neutral, false, 0) // a client error neither trips nor heals
	if state() != StateClosed {
		t.Fatal("tripped before the threshold")
	}
	b.record(unhealthy, false, 0)
	if state() != StateOpen {
		t.Fatal("not open after 2 consecutive failures")
	}
	mustAllow(false, false)

	clk.Add(time.Second)
	if state() != StateHalfOpen {
		t.Fatalf("state %s after the cool-down", state())
	}
	mustAllow(true, true)
	mustAllow(false, false) // one probe at a time
	b.record(unhealthy, true, 0)
	_, _, trips, until := b.health()
	if trips != 2 || !until.Equal(clk.Now().Add(2*time.Second)) {
		t.Fatalf("failed probe: trips %d until %v; want the cool-down doubled", trips, until)
	}
	clk.Add(1500 * time.Millisecond)
	mustAllow(false, false)
	clk.Add(500 * time.Millisecond)
	mustAllow(true, true)
	b.record(neutral, true, 0) // the prober's client left: let another probe
	mustAllow(true, true)
	b.record(unhealthy, true, 0)
	clk.Add(4 * time.Second)
	mustAllow(true, true)
	b.record(unhealthy, true, 0) // 8s capped at 5s
	if _, _, _, until := b.health(); !until.Equal(clk.Now().Add(5 * time.Second)) {
		t.Fatalf("cool-down not capped: until %v", until)
	}
	clk.Add(5 * time.Second)
	mustAllow(true, true)
	b.record(healthy, true, 0)
	if s, f, trips, _ := b.health(); s != StateClosed || f != 0 || trips != 0 {
		t.Fatalf("after a good probe: %s failures %d trips %d", s, f, trips)
	}

	// The provider's own Retry-After outlasts a shorter cool-down.
	b.record(unhealthy, false, 0)
	b.record(unhealthy, false, 3*time.Second)
	if _, _, _, until := b.health(); !until.Equal(clk.Now().Add(3 * time.Second)) {
		t.Fatalf("Retry-After ignored: until %v", until)
	}
}

func TestHealthOf(t *testing.T) {
	tests := []struct {
		err        error
		callerDone bool
		want       verdict
	}{
		{nil, false, healthy},
		{&Error{Kind: KindStatus, Status: 503}, false, unhealthy},
		{&Error{Kind: KindStatus, Status: 429}, false, unhealthy},
		{&Error{Kind: KindNetwork}, false, unhealthy},
		{&Error{Kind: KindTimeout}, false, unhealthy},
		{&Error{Kind: KindMalformed}, false, unhealthy},
		{&Error{Kind: KindStatus, Status: 400}, false, neutral},
		{&Error{Kind: KindStatus, Status: 404}, false, neutral},
		{&Error{Kind: KindAuth, Status: 401}, false, neutral},
		{&Error{Kind: KindSafety}, false, healthy},
		{&Error{Kind: KindTimeout}, true, neutral},
		{&Error{Kind: KindCanceled}, false, neutral},
		{errors.New("foreign"), false, neutral},
		{context.DeadlineExceeded, false, unhealthy},
	}
	for _, tc := range tests {
		if got := healthOf(tc.err, tc.callerDone); got != tc.want {
			t.Errorf("healthOf(%v, %v) = %v, want %v", tc.err, tc.callerDone, got, tc.want)
		}
	}
}

// A provider that keeps failing is skipped while it cools down, probed
// afterwards, and back in use once a probe succeeds.
func TestCascadeCoolingProviderSkippedThenProbed(t *testing.T) {
	clk := newClock()
	var geminiUp struct {
		sync.Mutex
		ok bool
	}
	gf := newFake(t, reply{fn: func(*http.Request) reply {
		geminiUp.Lock()
		defer geminiUp.Unlock()
		if geminiUp.ok {
			return reply{status: 200, body: geminiOK}
		}
		return reply{status: 503, body: googleErr(503, "UNAVAILABLE", "overloaded")}
	}})
	qf := newFake(t, reply{status: 200, body: groqUsage1000})
	c := NewCascade(CascadeConfig{
		Providers:     []Provider{newTestGemini(gf, ""), newTestGroq(qf)},
		CooldownAfter: 2, CooldownBase: 10 * time.Second, Now: clk.Now,
	})
	const (
		failed  = "gemini|gemini-2.5-flash-lite|failed|HTTP 503 from provider (UNAVAILABLE)"
		skipped = "gemini|gemini-2.5-flash-lite|skipped|cooling down"
		geminiS = "gemini|gemini-2.5-flash-lite|success|<nil>"
		groqS   = "groq|openai/gpt-oss-20b|success|<nil>"
	)
	run := func(want ...string) {
		t.Helper()
		res, err := c.Complete(bg(t), chatRequest())
		if err != nil {
			t.Fatal(err)
		}
		if got := reasons(res.Steps); !reflect.DeepEqual(got, want) {
			t.Fatalf("steps\n got %q\nwant %q", got, want)
		}
	}
	geminiState := func(want string) {
		t.Helper()
		if h := c.Health()[0]; h.State != want {
			t.Fatalf("gemini state %s, want %s (%+v)", h.State, want, h)
		}
	}

	run(failed, groqS)
	geminiState(StateClosed)
	run(failed, groqS)
	geminiState(StateOpen)
	calls := len(gf.requests())
	run(skipped, groqS)
	run(skipped, groqS)
	if n := len(gf.requests()); n != calls {
		t.Fatalf("a cooling provider was called (%d calls, want %d)", n, calls)
	}
	h := c.Health()
	if !h[0].CoolingUntil.Equal(clk.Now().Add(10*time.Second)) || h[0].Usable() || !h[1].Usable() || h[1].State != StateClosed {
		t.Fatalf("health %+v", h)
	}

	// Cool-down over: one probe, which fails and doubles the cool-down.
	clk.Add(10 * time.Second)
	geminiState(StateHalfOpen)
	run(failed, groqS)
	geminiState(StateOpen)
	clk.Add(10 * time.Second)
	run(skipped, groqS)

	// Second cool-down over and the provider is back: the probe succeeds.
	clk.Add(10 * time.Second)
	geminiUp.Lock()
	geminiUp.ok = true
	geminiUp.Unlock()
	run(geminiS)
	geminiState(StateClosed)
	run(geminiS)

	// Prefer shares the breakers: an outage seen by one route counts for all.
	p, err := c.Prefer("groq", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Health(); got[0].Name != "groq" || got[1].Name != "gemini" {
		t.Fatalf("prefer health %+v", got)
	}
}

func TestCascadeCooldownOff(t *testing.T) {
	f := newFake(t, reply{status: 503, body: groq503})
	c := NewCascade(CascadeConfig{Providers: []Provider{newTestGroq(f)}, CooldownAfter: -1})
	for range 8 {
		c.Complete(bg(t), chatRequest())
	}
	if n := len(f.requests()); n != 8 {
		t.Errorf("with cool-downs off every request reaches the provider: %d of 8", n)
	}
	if h := c.Health()[0]; h.State != StateClosed {
		t.Errorf("health %+v", h)
	}
}

// A cooling provider is skipped while another can answer, but asked as a
// last resort once every provider in service has failed: a cool-down saves
// time, it must not cost answers.
func TestCascadeCoolingProviderIsTheLastResort(t *testing.T) {
	for _, hedge := range []time.Duration{0, 30 * time.Millisecond} {
		t.Run(fmt.Sprint("hedge=", hedge), func(t *testing.T) {
			clk := newClock()
			var geminiOKNow atomic.Bool
			gf := newFake(t, reply{fn: func(*http.Request) reply {
				if geminiOKNow.Load() {
					return reply{status: 200, body: geminiOK}
				}
				return reply{status: 503, body: googleErr(503, "UNAVAILABLE", "x")}
			}})
			qf := newFake(t, reply{status: 502, body: groq503})
			c := NewCascade(CascadeConfig{Providers: []Provider{newTestGemini(gf, ""), newTestGroq(qf)},
				CooldownAfter: 1, CooldownBase: time.Minute, HedgeAfter: hedge, Now: clk.Now})
			if _, err := c.Complete(bg(t), chatRequest()); !errors.Is(err, ErrAllFailed) {
				t.Fatalf("first call: %v", err)
			}
			if h := c.Health(); h[0].State != StateOpen || h[1].State != StateOpen {
				t.Fatalf("health %+v", h)
			}
			geminiOKNow.Store(true)
			res, err := c.Complete(bg(t), chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"gemini|gemini-2.5-flash-lite|skipped|cooling down",
				"gemini|gemini-2.5-flash-lite|success|<nil>",
				"groq|openai/gpt-oss-20b|skipped|cooling down",
			}
			if hedge == 0 {
				want = []string{
					"gemini|gemini-2.5-flash-lite|skipped|cooling down",
					"groq|openai/gpt-oss-20b|skipped|cooling down",
					"gemini|gemini-2.5-flash-lite|success|<nil>",
				}
			}
			if got := reasons(res.Steps); !reflect.DeepEqual(got, want) {
				t.Errorf("steps\n got %q\nwant %q", got, want)
			}
			if h := c.Health()[0]; h.State != StateClosed {
				t.Errorf("an answer from the last resort ends its cool-down: %+v", h)
			}
			if n := len(qf.requests()); n != 1 {
				t.Errorf("groq called %d times; once it was cooling, gemini answered first", n)
			}
		})
	}
}

// The streaming cascade honours cool-downs the same way.
func TestStreamCascadeSkipsCoolingProvider(t *testing.T) {
	clk := newClock()
	gf := newFake(t, reply{status: 503, body: googleErr(503, "UNAVAILABLE", "overloaded")})
	c := NewCascade(CascadeConfig{
		Providers:     []Provider{newTestGemini(gf, ""), NewDemo()},
		CooldownAfter: 1, CooldownBase: 10 * time.Second, Now: clk.Now,
	})
	stream := func() []string {
		t.Helper()
		ls, err := c.Stream(bg(t), chatRequest(), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer ls.Close()
		for {
			if _, err := ls.Next(); err != nil {
				break
			}
		}
		var out []string
		for _, s := range ls.Steps() {
			out = append(out, s.Provider+"|"+s.Status)
		}
		return out
	}
	if got := stream(); !reflect.DeepEqual(got, []string{"gemini|failed", "demo|success"}) {
		t.Fatalf("first stream %q", got)
	}
	if got := stream(); !reflect.DeepEqual(got, []string{"gemini|skipped", "demo|success"}) {
		t.Fatalf("while cooling %q", got)
	}
	if n := len(gf.requests()); n != 1 {
		t.Fatalf("gemini called %d times", n)
	}
	clk.Add(10 * time.Second)
	if got := stream(); !reflect.DeepEqual(got, []string{"gemini|failed", "demo|success"}) {
		t.Fatalf("probe %q", got)
	}
	if h := c.Health()[0]; h.State != StateOpen || h.Trips != 2 {
		t.Fatalf("after a failed probe %+v", h)
	}
}
