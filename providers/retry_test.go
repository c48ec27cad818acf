package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"
)

const groq503 = `{"error":{"message":"Service Unavailable","type":"internal_server_error"}}`
const groq429 = `{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}`

func TestCascadeRetries(t *testing.T) {
	ok := reply{status: 200, body: groqUsage1000}
	r503 := reply{status: 503, body: groq503}
	hang := reply{hang: true}
	tests := []struct {
		name      string
		gemini    []reply // nil: gemini not in the cascade
		groq      []reply
		retryMax  int
		backoff   time.Duration
		attempt   time.Duration
		deadline  time.Duration
		wantSteps []string
		wantCalls [2]int // gemini, groq
		wantErr   error
		minTime   time.Duration
		maxTime   time.Duration
	}{
		{
			name: "503 then success on the same provider", groq: []reply{r503, ok}, retryMax: 1,
			wantSteps: []string{
				"groq|openai/gpt-oss-20b|failed|HTTP 503 from provider (internal_server_error)",
				"groq|openai/gpt-oss-20b|success|<nil>",
			},
			wantCalls: [2]int{0, 2}, maxTime: time.Second,
		},
		{
			name: "retries off by default", groq: []reply{r503, ok},
			wantSteps: []string{"groq|openai/gpt-oss-20b|failed|HTTP 503 from provider (internal_server_error)"},
			wantCalls: [2]int{0, 1}, wantErr: ErrAllFailed,
		},
		{
			name: "Retry-After is honoured", retryMax: 2,
			groq: []reply{{status: 429, header: map[string]string{"Retry-After": "0.3"}, body: groq429}, ok},
			wantSteps: []string{
				"groq|openai/gpt-oss-20b|failed|HTTP 429 from provider (rate_limit_exceeded)",
				"groq|openai/gpt-oss-20b|success|<nil>",
			},
			wantCalls: [2]int{0, 2}, minTime: 300 * time.Millisecond, maxTime: 2 * time.Second,
		},
		{
			name: "Gemini RetryInfo is honoured", retryMax: 1,
			gemini: []reply{{status: 429, body: `{"error":{"code":429,"message":"quota","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.25s"}]}}`}, {status: 200, body: geminiOK}},
			wantSteps: []string{
				"gemini|gemini-2.5-flash-lite|failed|HTTP 429 from provider (RESOURCE_EXHAUSTED)",
				"gemini|gemini-2.5-flash-lite|success|<nil>",
			},
			wantCalls: [2]int{2, 0}, minTime: 250 * time.Millisecond, maxTime: 2 * time.Second,
		},
		{
			name: "Retry-After past the deadline falls over at once", retryMax: 3, deadline: 2 * time.Second,
			gemini: []reply{{status: 503, header: map[string]string{"Retry-After": "30"}, body: googleErr(503, "UNAVAILABLE", "x")}},
			groq:   []reply{ok},
			wantSteps: []string{
				"gemini|gemini-2.5-flash-lite|failed|HTTP 503 from provider (UNAVAILABLE)",
				"groq|openai/gpt-oss-20b|success|<nil>",
			},
			wantCalls: [2]int{1, 1}, maxTime: 500 * time.Millisecond,
		},
		{
			name: "backoff never sleeps past the deadline", retryMax: 50, backoff: 80 * time.Millisecond, deadline: 400 * time.Millisecond,
			groq:    []reply{r503},
			wantErr: ErrAllFailed, maxTime: 400 * time.Millisecond,
		},
		{
			name: "400 is not retried", retryMax: 3,
			groq:      []reply{{status: 400, body: `{"error":{"message":"bad","type":"invalid_request_error"}}`}, ok},
			wantSteps: []string{"groq|openai/gpt-oss-20b|failed|HTTP 400 from provider (invalid_request_error)"},
			wantCalls: [2]int{0, 1}, wantErr: ErrAllFailed,
		},
		{
			name: "malformed answer is not retried", retryMax: 3,
			groq:      []reply{{status: 200, body: `{"choices":[`}, ok},
			wantSteps: []string{"groq|openai/gpt-oss-20b|failed|malformed response"},
			wantCalls: [2]int{0, 1}, wantErr: ErrAllFailed,
		},
		{
			name: "safety block is not retried", retryMax: 3,
			gemini:    []reply{{status: 200, body: `{"promptFeedback":{"blockReason":"SAFETY"}}`}, {status: 200, body: geminiOK}},
			wantSteps: []string{"gemini|gemini-2.5-flash-lite|failed|blocked by provider safety filter"},
			wantCalls: [2]int{1, 0}, wantErr: ErrSafetyBlocked,
		},
		{
			// The hanging first provider gets half of the 600ms left, not
			// its 5s attempt timeout, so the second still answers in time.
			name: "deadline shared so the last provider gets a fair try", retryMax: 1,
			attempt: 5 * time.Second, deadline: 600 * time.Millisecond,
			gemini: []reply{hang}, groq: []reply{ok},
			wantSteps: []string{
				"gemini|gemini-2.5-flash-lite|timeout|timeout after 300ms",
				"groq|openai/gpt-oss-20b|success|<nil>",
			},
			wantCalls: [2]int{1, 1}, minTime: 290 * time.Millisecond, maxTime: 600 * time.Millisecond,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ps []Provider
			var gf, qf *fake
			if tc.gemini != nil {
				gf = newFake(t, tc.gemini...)
				ps = append(ps, newTestGemini(gf, ""))
			}
			if tc.groq != nil {
				qf = newFake(t, tc.groq...)
				ps = append(ps, newTestGroq(qf))
			}
			c := NewCascade(CascadeConfig{Providers: ps, RetryMax: tc.retryMax, RetryBackoff: cmpOr(tc.backoff, time.Millisecond),
				AttemptTimeout: cmpOr(tc.attempt, 2*time.Second)})
			ctx := bg(t)
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			start := time.Now()
			res, err := c.Complete(ctx, chatRequest())
			elapsed := time.Since(start)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var steps []Step
			if res != nil {
				steps = res.Steps
			} else if ce, ok := errors.AsType[*CascadeError](err); ok {
				steps = ce.Steps
			}
			if tc.wantSteps != nil {
				if got := reasons(steps); !reflect.DeepEqual(got, tc.wantSteps) {
					t.Errorf("steps\n got %q\nwant %q", got, tc.wantSteps)
				}
			}
			calls := [2]int{}
			if gf != nil {
				calls[0] = len(gf.requests())
			}
			if qf != nil {
				calls[1] = len(qf.requests())
			}
			if tc.wantCalls != ([2]int{}) && calls != tc.wantCalls {
				t.Errorf("calls (gemini, groq) = %v, want %v", calls, tc.wantCalls)
			}
			if elapsed < tc.minTime || (tc.maxTime > 0 && elapsed > tc.maxTime) {
				t.Errorf("took %v, want %v..%v", elapsed, tc.minTime, tc.maxTime)
			}
		})
	}
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

func TestBackoff(t *testing.T) {
	c := NewCascade(CascadeConfig{RetryBackoff: 100 * time.Millisecond})
	for n, want := range []time.Duration{100, 200, 400, 800, 1600, 3200, 4000, 4000} {
		want *= time.Millisecond
		if n == 7 {
			n = 60 // no overflow however many retries
		}
		for range 50 {
			d := c.backoff(n, 0)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %v, want in [%v, %v]", n, d, want/2, want)
			}
		}
	}
	if d := c.backoff(0, 3*time.Second); d != 3*time.Second {
		t.Errorf("a longer Retry-After wins: %v", d)
	}
}

// cancelSeer is an upstream that holds every request until the client goes
// away and reports each cancel it sees.
type cancelSeer struct {
	*httptest.Server
	arrived  chan struct{}
	canceled chan struct{}
}

func newCancelSeer(t *testing.T) *cancelSeer {
	s := &cancelSeer{arrived: make(chan struct{}, 16), canceled: make(chan struct{}, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a gone client only once the body is read.
		io.Copy(io.Discard, r.Body)
		s.arrived <- struct{}{}
		select {
		case <-r.Context().Done():
			s.canceled <- struct{}{}
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *cancelSeer) waitCanceled(t *testing.T) {
	t.Helper()
	select {
	case <-s.canceled:
	case <-time.After(2 * time.Second):
		t.Fatal("upstream never saw its request canceled")
	}
}

func TestClientDisconnectCancelsUpstream(t *testing.T) {
	up := newCancelSeer(t)
	g := NewGemini(GeminiConfig{BaseURL: up.URL, Key: StaticKey(testKey), HTTPClient: up.Client()})
	c := NewCascade(CascadeConfig{Providers: []Provider{g}, AttemptTimeout: 5 * time.Second, RetryMax: 2})
	ctx, cancel := context.WithCancel(bg(t))
	var wg sync.WaitGroup
	var err error
	wg.Go(func() { _, err = c.Complete(ctx, chatRequest()) })
	<-up.arrived
	start := time.Now()
	cancel()
	up.waitCanceled(t)
	wg.Wait()
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cascade returned %v after the cancel", d)
	}
	// The client's leaving says nothing about the provider.
	if h := c.Health()[0]; h.State != StateClosed || h.ConsecutiveFailures != 0 {
		t.Errorf("health %+v", h)
	}
}
