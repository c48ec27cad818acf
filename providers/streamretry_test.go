package providers

import (
	"context"
	"errors"
	"io"
	"regexp"
	"testing"
	"time"
)

// openRouterStreamOK is a whole clean OpenRouter stream answering "Teal.".
func openRouterStreamOK() sseScript {
	w := streamWires()[1]
	return sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.content("al."), w.finish, w.terminator)}}
}

// streamOutcome streams chatRequest through c without an idle bound and
// returns the steps: of the *CascadeError when wantErr is set, else of the
// stream, which must read wantText to a clean end.
func streamOutcome(t *testing.T, c *Cascade, wantErr error, wantText string) []Step {
	t.Helper()
	ls, err := c.Stream(bg(t), chatRequest(), 0)
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("err = %v, want %v", err, wantErr)
		}
		return errSteps(err)
	}
	if err != nil {
		t.Fatalf("Stream: %v (steps %s)", err, stepSummary(errSteps(err)))
	}
	defer ls.Close()
	if text, _, err := readAll(t, ls); text != wantText || !errors.Is(err, io.EOF) {
		t.Errorf("text %q end %v", text, err)
	}
	return ls.Steps()
}

// TestStreamCascadeRetries: before its first content a stream attempt is
// retried on the same provider under Complete's policy (RetryMax, backoff
// honouring Retry-After, deadline share, never past ctx).
func TestStreamCascadeRetries(t *testing.T) {
	gw := streamWires()[0]
	r429 := sseScript{status: 429, header: map[string]string{"Retry-After": "0.3"}, body: groq429}
	r503 := sseScript{status: 503, body: groq503}
	const fail429 = "groq failed: HTTP 429 from provider (rate_limit_exceeded)"
	const fail503 = "groq failed: HTTP 503 from provider (internal_server_error)"
	tests := []struct {
		name     string
		groq     []sseScript
		retryMax int
		attempt  time.Duration
		deadline time.Duration
		idle     time.Duration
		// wantSteps is a regular expression over stepSummary.
		wantSteps string
		wantCalls [2]int // groq, openrouter
		minTime   time.Duration
		maxTime   time.Duration
	}{
		{name: "429 with Retry-After, then success on the same provider", retryMax: 2,
			groq:      []sseScript{r429, groqStreamOK()},
			wantSteps: regexp.QuoteMeta(fail429 + " | groq success"),
			wantCalls: [2]int{2, 0}, minTime: 300 * time.Millisecond, maxTime: 2 * time.Second},
		{name: "retries off by default",
			groq:      []sseScript{r503, groqStreamOK()},
			wantSteps: regexp.QuoteMeta(fail503 + " | openrouter success"),
			wantCalls: [2]int{1, 1}},
		{name: "RetryMax bounds the retries", retryMax: 1,
			groq:      []sseScript{{status: 429, header: map[string]string{"Retry-After": "0.05"}, body: groq429}},
			wantSteps: regexp.QuoteMeta(fail429 + " | " + fail429 + " | openrouter success"),
			wantCalls: [2]int{2, 1}},
		{name: "connection cut before content is retried", retryMax: 1,
			groq:      []sseScript{{steps: []sseStep{raw(gw.start), cut}}, groqStreamOK()},
			wantSteps: regexp.QuoteMeta("groq failed: " + msgInterrupted + " | groq success"),
			wantCalls: [2]int{2, 0}},
		{name: "stall before content is retried", retryMax: 1, idle: 80 * time.Millisecond,
			groq:      []sseScript{{steps: []sseStep{raw(gw.start), hang}}, groqStreamOK()},
			wantSteps: regexp.QuoteMeta("groq timeout: stream stalled (no data for 80ms) | groq success"),
			wantCalls: [2]int{2, 0}},
		{name: "attempt timeout before content is retried", retryMax: 1, attempt: 100 * time.Millisecond,
			groq:      []sseScript{{steps: []sseStep{hang}}, groqStreamOK()},
			wantSteps: regexp.QuoteMeta("groq timeout: timeout after 100ms | groq success"),
			wantCalls: [2]int{2, 0}},
		{name: "error event is not retried", retryMax: 3,
			groq:      []sseScript{{steps: []sseStep{raw(gw.start, gw.errorEvent)}}, groqStreamOK()},
			wantSteps: regexp.QuoteMeta("groq failed: error in stream | openrouter success"),
			wantCalls: [2]int{1, 1}},
		{name: "401 is not retried", retryMax: 3,
			groq:      []sseScript{{status: 401, body: `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`}, groqStreamOK()},
			wantSteps: `^groq failed: [^|]*401[^|]* \| openrouter success$`,
			wantCalls: [2]int{1, 1}},
		{name: "Retry-After past the deadline falls over at once", retryMax: 3, deadline: 2 * time.Second,
			groq:      []sseScript{{status: 503, header: map[string]string{"Retry-After": "30"}, body: groq503}},
			wantSteps: regexp.QuoteMeta(fail503 + " | openrouter success"),
			wantCalls: [2]int{1, 1}, maxTime: 500 * time.Millisecond},
		{name: "deadline share bounds the time to first content", retryMax: 1, deadline: time.Second,
			groq:      []sseScript{{steps: []sseStep{hang}}, groqStreamOK()},
			wantSteps: `^groq timeout: timeout after (4[5-9]\d|500)ms \| openrouter success$`,
			wantCalls: [2]int{1, 1}, minTime: 450 * time.Millisecond, maxTime: 900 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groq := newSSEFake(t, tt.groq...)
			or := newSSEFake(t, openRouterStreamOK())
			c := NewCascade(CascadeConfig{
				Providers:      []Provider{gw.newProvider(groq), streamWires()[1].newProvider(or)},
				RetryMax:       tt.retryMax,
				RetryBackoff:   10 * time.Millisecond,
				AttemptTimeout: tt.attempt,
				CooldownAfter:  -1,
			})
			ctx := bg(t)
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
			}
			start := time.Now()
			ls, err := c.Stream(ctx, chatRequest(), tt.idle)
			elapsed := time.Since(start)
			if err != nil {
				t.Fatalf("Stream: %v (steps %s)", err, stepSummary(errSteps(err)))
			}
			defer ls.Close()
			if got := stepSummary(ls.Steps()); !regexp.MustCompile(tt.wantSteps).MatchString(got) {
				t.Errorf("steps = %q, want %q", got, tt.wantSteps)
			}
			text, _, err := readAll(t, ls)
			if text != "Teal." || !errors.Is(err, io.EOF) {
				t.Errorf("text %q end %v", text, err)
			}
			if got := [2]int{groq.count(), or.count()}; got != tt.wantCalls {
				t.Errorf("calls (groq, openrouter) = %v, want %v", got, tt.wantCalls)
			}
			if elapsed < tt.minTime {
				t.Errorf("took %v, want at least %v", elapsed, tt.minTime)
			}
			if tt.maxTime > 0 && elapsed > tt.maxTime {
				t.Errorf("took %v, want at most %v", elapsed, tt.maxTime)
			}
		})
	}
}

// TestStreamCascadeNoRetryAfterContent: once content was handed out, even a
// failure that would be retried before it (a cut, a stall) is the final
// answer: the same provider is not asked again, and neither is the next.
func TestStreamCascadeNoRetryAfterContent(t *testing.T) {
	gw := streamWires()[0]
	tests := []struct {
		name     string
		script   sseScript
		idle     time.Duration
		wantKind Kind
	}{
		{"cut", sseScript{steps: []sseStep{raw(gw.start, gw.content("Te")), cut}}, 0, KindNetwork},
		{"stall", sseScript{steps: []sseStep{raw(gw.start, gw.content("Te")), hang}}, 80 * time.Millisecond, KindTimeout},
		{"error event", sseScript{steps: []sseStep{raw(gw.start, gw.content("Te"), gw.errorEvent)}}, 0, KindBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groq := newSSEFake(t, tt.script, groqStreamOK())
			or := newSSEFake(t, openRouterStreamOK())
			c := NewCascade(CascadeConfig{
				Providers: []Provider{gw.newProvider(groq), streamWires()[1].newProvider(or)},
				RetryMax:  3, RetryBackoff: time.Millisecond,
			})
			ls, err := c.Stream(bg(t), chatRequest(), tt.idle)
			if err != nil {
				t.Fatal(err)
			}
			defer ls.Close()
			text, _, err := readAll(t, ls)
			if text != "Te" {
				t.Errorf("text = %q", text)
			}
			mustError(t, err, tt.wantKind)
			if groq.count() != 1 || or.count() != 0 {
				t.Errorf("calls after content: groq %d, openrouter %d", groq.count(), or.count())
			}
			if got := stepSummary(ls.Steps()); got != "groq success" {
				t.Errorf("steps = %q", got)
			}
		})
	}
}

// TestStreamCascadeCoolingProviderIsTheLastResort mirrors Complete: once
// every provider in service failed, the cooling ones are asked too, in
// order, after their skipped steps.
func TestStreamCascadeCoolingProviderIsTheLastResort(t *testing.T) {
	gw, ow := streamWires()[0], streamWires()[1]
	r503 := sseScript{status: 503, body: groq503}
	or503 := sseScript{status: 503, body: `{"error":{"code":503,"message":"No instances available"}}`}
	tests := []struct {
		name         string
		groq, or     []sseScript // the second call is the one under test
		wantSteps    string
		wantErr      error
		wantCalls    [2]int
		wantGroqOpen bool
	}{
		{name: "the first cooling provider answers",
			groq: []sseScript{r503, groqStreamOK()}, or: []sseScript{or503, openRouterStreamOK()},
			wantSteps: "groq skipped: cooling down | openrouter skipped: cooling down | groq success",
			wantCalls: [2]int{2, 1}},
		{name: "the next cooling provider answers",
			groq: []sseScript{r503}, or: []sseScript{or503, openRouterStreamOK()},
			wantSteps: "groq skipped: cooling down | openrouter skipped: cooling down | " +
				"groq failed: HTTP 503 from provider (internal_server_error) | openrouter success",
			wantCalls: [2]int{2, 2}, wantGroqOpen: true},
		{name: "all fail",
			groq: []sseScript{r503}, or: []sseScript{or503},
			wantSteps: "groq skipped: cooling down | openrouter skipped: cooling down | " +
				"groq failed: HTTP 503 from provider (internal_server_error) | openrouter failed: HTTP 503 from provider",
			wantErr: ErrAllFailed, wantCalls: [2]int{2, 2}, wantGroqOpen: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			groq, or := newSSEFake(t, tt.groq...), newSSEFake(t, tt.or...)
			c := NewCascade(CascadeConfig{Providers: []Provider{gw.newProvider(groq), ow.newProvider(or)},
				CooldownAfter: 1, CooldownBase: time.Minute, Now: clk.Now})
			if _, err := c.Stream(bg(t), chatRequest(), 0); !errors.Is(err, ErrAllFailed) {
				t.Fatalf("first stream: %v", err)
			}
			if h := c.Health(); h[0].State != StateOpen || h[1].State != StateOpen {
				t.Fatalf("health %+v", h)
			}
			steps := streamOutcome(t, c, tt.wantErr, "Teal.")
			if got := stepSummary(steps); got != tt.wantSteps {
				t.Errorf("steps\n got %q\nwant %q", got, tt.wantSteps)
			}
			if got := [2]int{groq.count(), or.count()}; got != tt.wantCalls {
				t.Errorf("calls (groq, openrouter) = %v, want %v", got, tt.wantCalls)
			}
			if open := c.Health()[0].State == StateOpen; open != tt.wantGroqOpen {
				t.Errorf("groq health after the last resort: %+v", c.Health()[0])
			}
		})
	}
}

// TestStreamCascadeHedge: with HedgeAfter, a stream counts as answered at
// its first content. A slow start is raced by the next provider; the winner
// streams on after the race, and the loser's upstream is canceled.
func TestStreamCascadeHedge(t *testing.T) {
	gw := streamWires()[0]
	tests := []struct {
		name       string
		groq       sseScript
		hedgeAfter time.Duration
		wantSteps  string
		wantErr    error
		wantText   string
		orCalls    int
		groqGone   bool // the loser's request was canceled
		minTime    time.Duration
		maxTime    time.Duration
	}{
		{name: "slow first content: the hedge wins", hedgeAfter: 50 * time.Millisecond,
			groq:      sseScript{steps: []sseStep{raw(gw.start), hang}},
			wantSteps: "groq failed: " + reasonHedgeLost + " | openrouter success", wantText: "Teal.",
			orCalls: 1, groqGone: true, minTime: 50 * time.Millisecond, maxTime: time.Second},
		{name: "fast first content: no hedge", hedgeAfter: 200 * time.Millisecond,
			groq:      groqStreamOK(),
			wantSteps: "groq success", wantText: "Teal."},
		{name: "a slow answer after its first content is not hedged and streams on", hedgeAfter: 50 * time.Millisecond,
			groq: sseScript{steps: []sseStep{raw(gw.start, gw.content("Te")),
				{sleep: 150 * time.Millisecond, raw: gw.content("al.") + gw.finish + gw.terminator}}},
			wantSteps: "groq success", wantText: "Teal.", minTime: 150 * time.Millisecond},
		{name: "a failure falls over without waiting for the hedge", hedgeAfter: 2 * time.Second,
			groq:      sseScript{status: 503, body: groq503},
			wantSteps: "groq failed: HTTP 503 from provider (internal_server_error) | openrouter success", wantText: "Teal.",
			orCalls: 1, maxTime: time.Second},
		{name: "a safety block stops the race", hedgeAfter: time.Second,
			groq: sseScript{steps: []sseStep{raw(gw.start,
				groqChunk(`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"content_filter"}],"usage":null`))}},
			wantSteps: "groq failed: blocked by provider safety filter", wantErr: ErrSafetyBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			groq := newSSEFake(t, tt.groq)
			or := newSSEFake(t, openRouterStreamOK())
			c := NewCascade(CascadeConfig{
				Providers:  []Provider{gw.newProvider(groq), streamWires()[1].newProvider(or)},
				HedgeAfter: tt.hedgeAfter, AttemptTimeout: 5 * time.Second,
			})
			start := time.Now()
			steps := streamOutcome(t, c, tt.wantErr, tt.wantText)
			elapsed := time.Since(start)
			if got := stepSummary(steps); got != tt.wantSteps {
				t.Errorf("steps\n got %q\nwant %q", got, tt.wantSteps)
			}
			if or.count() != tt.orCalls {
				t.Errorf("openrouter calls %d, want %d", or.count(), tt.orCalls)
			}
			if tt.groqGone {
				select {
				case <-groq.gone:
				case <-time.After(2 * time.Second):
					t.Error("the losing upstream request was not canceled")
				}
				if h := c.Health()[0]; h.ConsecutiveFailures != 0 {
					t.Errorf("losing a race is no failure: %+v", h)
				}
			}
			if elapsed < tt.minTime || (tt.maxTime > 0 && elapsed > tt.maxTime) {
				t.Errorf("took %v, want %v..%v", elapsed, tt.minTime, tt.maxTime)
			}
		})
	}
}
