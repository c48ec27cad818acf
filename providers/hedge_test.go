package providers

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestHedgeCancelsTheLoser(t *testing.T) {
	slow := newCancelSeer(t)
	qf := newFake(t, reply{status: 200, body: groqUsage1000})
	c := NewCascade(CascadeConfig{
		Providers: []Provider{
			NewGemini(GeminiConfig{BaseURL: slow.URL, Key: StaticKey(testKey), HTTPClient: slow.Client()}),
			newTestGroq(qf),
		},
		AttemptTimeout: 5 * time.Second, HedgeAfter: 50 * time.Millisecond,
	})
	start := time.Now()
	res, err := c.Complete(bg(t), chatRequest())
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	slow.waitCanceled(t)
	if res.Provider != "groq" || res.Response.Text != "From Groq." {
		t.Errorf("result %+v", res)
	}
	want := []string{"gemini|gemini-2.5-flash-lite|failed|hedged: lost", "groq|openai/gpt-oss-20b|success|<nil>"}
	if got := reasons(res.Steps); !reflect.DeepEqual(got, want) {
		t.Errorf("steps\n got %q\nwant %q", got, want)
	}
	if elapsed < 50*time.Millisecond || elapsed > time.Second {
		t.Errorf("took %v: the hedge should start after 50ms and win at once", elapsed)
	}
	// Losing a race is no failure: the loser stays in service.
	if h := c.Health()[0]; h.ConsecutiveFailures != 0 {
		t.Errorf("loser health %+v", h)
	}
}

func TestHedgeOutcomes(t *testing.T) {
	ok := reply{status: 200, body: groqUsage1000}
	tests := []struct {
		name         string
		gemini, groq reply
		hedgeAfter   time.Duration
		deadline     time.Duration
		wantSteps    []string
		wantErr      error
		groqCalls    int
		maxTime      time.Duration
	}{
		{
			name: "fast first answer: no hedge", gemini: reply{status: 200, body: geminiOK}, groq: ok, hedgeAfter: 200 * time.Millisecond,
			wantSteps: []string{"gemini|gemini-2.5-flash-lite|success|<nil>"}, groqCalls: 0,
		},
		{
			name: "a failure falls over without waiting for the hedge", hedgeAfter: 2 * time.Second,
			gemini: reply{status: 503, body: googleErr(503, "UNAVAILABLE", "x")}, groq: ok,
			wantSteps: []string{"gemini|gemini-2.5-flash-lite|failed|HTTP 503 from provider (UNAVAILABLE)", "groq|openai/gpt-oss-20b|success|<nil>"},
			groqCalls: 1, maxTime: time.Second,
		},
		{
			name: "safety block stops the race", hedgeAfter: time.Second,
			gemini: reply{status: 200, body: `{"promptFeedback":{"blockReason":"SAFETY"}}`}, groq: ok,
			wantSteps: []string{"gemini|gemini-2.5-flash-lite|failed|blocked by provider safety filter"},
			wantErr:   ErrSafetyBlocked, groqCalls: 0,
		},
		{
			name: "both fail", hedgeAfter: 20 * time.Millisecond,
			gemini: reply{status: 500, body: googleErr(500, "INTERNAL", "x")}, groq: reply{status: 502, body: groq503},
			wantSteps: []string{"gemini|gemini-2.5-flash-lite|failed|HTTP 500 from provider (INTERNAL)", "groq|openai/gpt-oss-20b|failed|HTTP 502 from provider (internal_server_error)"},
			wantErr:   ErrAllFailed, groqCalls: 1,
		},
		{
			name: "deadline while both hang", hedgeAfter: 20 * time.Millisecond, deadline: 200 * time.Millisecond,
			gemini: reply{hang: true}, groq: reply{hang: true},
			wantSteps: []string{"gemini|gemini-2.5-flash-lite|timeout|request deadline exceeded", "groq|openai/gpt-oss-20b|timeout|request deadline exceeded"},
			wantErr:   ErrDeadline, groqCalls: 1, maxTime: time.Second,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstreams(t, tc.gemini, tc.groq, reply{})
			c := NewCascade(CascadeConfig{Providers: u.providers[:2], AttemptTimeout: 5 * time.Second, HedgeAfter: tc.hedgeAfter})
			ctx := bg(t)
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			res, err := c.Complete(ctx, chatRequest())
			if d := time.Since(start); tc.maxTime > 0 && d > tc.maxTime {
				t.Errorf("took %v", d)
			}
			var steps []Step
			if tc.wantErr != nil {
				ce, ok := errors.AsType[*CascadeError](err)
				if !ok || !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				steps = ce.Steps
			} else {
				if err != nil {
					t.Fatal(err)
				}
				steps = res.Steps
			}
			if got := reasons(steps); !reflect.DeepEqual(got, tc.wantSteps) {
				t.Errorf("steps\n got %q\nwant %q", got, tc.wantSteps)
			}
			if n := len(u.groq.requests()); n != tc.groqCalls {
				t.Errorf("groq calls %d, want %d", n, tc.groqCalls)
			}
		})
	}
}
