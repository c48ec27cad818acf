package providers

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

const groqUsage1000 = `{"id":"c","object":"chat.completion","model":"openai/gpt-oss-20b",
  "choices":[{"index":0,"message":{"role":"assistant","content":"From Groq."},"finish_reason":"stop"}],
  "usage":{"prompt_tokens":1000,"completion_tokens":2000,"total_tokens":3000}}`

// upstreams builds the three real providers against three fakes.
type upstreams struct {
	gemini, groq, openrouter *fake
	providers                []Provider
}

func newUpstreams(t *testing.T, gemini, groq, openrouter reply) *upstreams {
	t.Helper()
	u := &upstreams{gemini: newFake(t, gemini), groq: newFake(t, groq), openrouter: newFake(t, openrouter)}
	u.providers = []Provider{
		NewGemini(GeminiConfig{BaseURL: u.gemini.URL, Key: StaticKey(testKey), HTTPClient: u.gemini.Client()}),
		NewGroq(OpenAIConfig{BaseURL: u.groq.URL, Key: StaticKey(testKey), HTTPClient: u.groq.Client()}),
		NewOpenRouter(OpenAIConfig{BaseURL: u.openrouter.URL, Key: StaticKey(testKey), HTTPClient: u.openrouter.Client()}),
	}
	return u
}

func reasons(steps []Step) []string {
	var out []string
	for _, s := range steps {
		r := "<nil>"
		if s.Reason != nil {
			r = *s.Reason
		}
		out = append(out, s.Provider+"|"+s.Model+"|"+s.Status+"|"+r)
	}
	return out
}

func TestCascadeFallbackOrderAndSteps(t *testing.T) {
	u := newUpstreams(t,
		reply{status: 503, body: googleErr(503, "UNAVAILABLE", "The model is overloaded.")},
		reply{status: 429, header: map[string]string{"retry-after": "3"}, body: `{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}`},
		reply{status: 200, body: openRouterOK},
	)
	c := NewCascade(CascadeConfig{Providers: u.providers, AttemptTimeout: time.Second})
	res, err := c.Complete(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"gemini|gemini-2.5-flash-lite|failed|HTTP 503 from provider (UNAVAILABLE)",
		"groq|openai/gpt-oss-20b|failed|HTTP 429 from provider (rate_limit_exceeded)",
		"openrouter|openai/gpt-oss-20b:free|success|<nil>",
	}
	if got := reasons(res.Steps); !reflect.DeepEqual(got, want) {
		t.Errorf("steps\n got %q\nwant %q", got, want)
	}
	if res.Provider != "openrouter" || res.Model != DefaultOpenRouterModel || res.Response.Text != "Teal is a" {
		t.Errorf("result %+v", res)
	}
	if res.CostUSD == nil || *res.CostUSD != 0 {
		t.Errorf("a :free model costs 0, got %v", res.CostUSD)
	}
	for _, s := range res.Steps {
		if s.LatencyMS < 0 || s.LatencyMS > 1000 {
			t.Errorf("latency %d", s.LatencyMS)
		}
	}
	if len(u.gemini.requests()) != 1 || len(u.groq.requests()) != 1 || len(u.openrouter.requests()) != 1 {
		t.Error("each provider should be called exactly once")
	}
}

func TestCascadeOutcomes(t *testing.T) {
	hang := reply{hang: true}
	ok := reply{status: 200, body: groqUsage1000}
	tests := []struct {
		name          string
		gemini, groq  reply
		attempt       time.Duration
		deadline      time.Duration // overall ctx deadline, 0 for none
		cancelAfter   time.Duration
		wantSteps     []string
		wantProvider  string
		wantCost      *float64
		wantIs        []error
		wantTimeout   bool
		wantCanceled  bool
		wantBlocked   bool
		groqCalled    bool
		maxElapsed    time.Duration
		wantBlockCats []string
	}{
		{
			name: "per-attempt timeout falls over", gemini: hang, groq: ok, attempt: 100 * time.Millisecond,
			wantSteps: []string{
				"gemini|gemini-2.5-flash-lite|timeout|timeout after 100ms",
				"groq|openai/gpt-oss-20b|success|<nil>",
			},
			wantProvider: "groq", wantCost: ptr(0.000675), groqCalled: true, maxElapsed: 2 * time.Second,
		},
		{
			name: "overall deadline stops the cascade", gemini: hang, groq: ok, attempt: 5 * time.Second, deadline: 120 * time.Millisecond,
			wantSteps:   []string{"gemini|gemini-2.5-flash-lite|timeout|request deadline exceeded"},
			wantIs:      []error{ErrDeadline, context.DeadlineExceeded},
			wantTimeout: true, groqCalled: false, maxElapsed: 2 * time.Second,
		},
		{
			name: "client cancel stops the cascade", gemini: hang, groq: ok, attempt: 5 * time.Second, cancelAfter: 50 * time.Millisecond,
			wantSteps:    []string{"gemini|gemini-2.5-flash-lite|failed|canceled by client"},
			wantIs:       []error{context.Canceled},
			wantCanceled: true, groqCalled: false, maxElapsed: 2 * time.Second,
		},
		{
			name: "safety block is not retried elsewhere", attempt: time.Second, groq: ok,
			gemini:    reply{status: 200, body: `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}}`},
			wantSteps: []string{"gemini|gemini-2.5-flash-lite|failed|blocked by provider safety filter"},
			wantIs:    []error{ErrSafetyBlocked}, wantBlocked: true, wantBlockCats: []string{"dangerous_content"},
			groqCalled: false,
		},
		{
			name: "all failed", attempt: time.Second,
			gemini: reply{status: 200, body: `{not json`},
			groq:   reply{status: 200, body: `{"error":{"message":"x","type":"server_error"}}`},
			wantSteps: []string{
				"gemini|gemini-2.5-flash-lite|failed|malformed response",
				"groq|openai/gpt-oss-20b|failed|error in response body",
			},
			wantIs: []error{ErrAllFailed}, groqCalled: true,
		},
		{
			name: "empty answers fall over", attempt: time.Second, groq: ok,
			gemini: reply{status: 200, body: `{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}]}`},
			wantSteps: []string{
				"gemini|gemini-2.5-flash-lite|failed|empty response (max tokens reached)",
				"groq|openai/gpt-oss-20b|success|<nil>",
			},
			wantProvider: "groq", wantCost: ptr(0.000675), groqCalled: true,
		},
		{
			name: "retired model 404 falls over", attempt: time.Second, groq: ok,
			gemini: reply{status: 404, body: googleErr(404, "NOT_FOUND", "models/gemini-2.0-flash is not found")},
			wantSteps: []string{
				"gemini|gemini-2.5-flash-lite|failed|HTTP 404 from provider (NOT_FOUND)",
				"groq|openai/gpt-oss-20b|success|<nil>",
			},
			wantProvider: "groq", wantCost: ptr(0.000675), groqCalled: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstreams(t, tc.gemini, tc.groq, reply{status: 500})
			c := NewCascade(CascadeConfig{Providers: u.providers[:2], AttemptTimeout: tc.attempt})
			ctx := bg(t)
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			if tc.cancelAfter > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tc.cancelAfter, cancel)
				defer cancel()
			}
			start := time.Now()
			res, err := c.Complete(ctx, chatRequest())
			elapsed := time.Since(start)
			if tc.maxElapsed > 0 && elapsed > tc.maxElapsed {
				t.Errorf("took %v", elapsed)
			}
			if got := len(u.groq.requests()) > 0; got != tc.groqCalled {
				t.Errorf("groq called = %v, want %v", got, tc.groqCalled)
			}
			assertNoLeak(t, err, testKey, u.gemini.URL, u.groq.URL)
			var steps []Step
			if tc.wantProvider != "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				steps = res.Steps
				if res.Provider != tc.wantProvider {
					t.Errorf("provider %s", res.Provider)
				}
				if (res.CostUSD == nil) != (tc.wantCost == nil) || (res.CostUSD != nil && *res.CostUSD != *tc.wantCost) {
					t.Errorf("cost %v, want %v", deref(res.CostUSD), deref(tc.wantCost))
				}
			} else {
				ce, ok := errors.AsType[*CascadeError](err)
				if !ok {
					t.Fatalf("want *CascadeError, got %v (%T)", err, err)
				}
				steps = ce.Steps
				if ce.Timeout != tc.wantTimeout || ce.Canceled != tc.wantCanceled || (ce.Blocked != nil) != tc.wantBlocked {
					t.Errorf("timeout=%v canceled=%v blocked=%v", ce.Timeout, ce.Canceled, ce.Blocked)
				}
				for _, target := range tc.wantIs {
					if !errors.Is(err, target) {
						t.Errorf("errors.Is(%v) false for %v", target, err)
					}
				}
				if tc.wantBlocked {
					if ce.Blocked.Provider != "gemini" || !reflect.DeepEqual(ce.Blocked.Categories, tc.wantBlockCats) {
						t.Errorf("blocked %+v", ce.Blocked)
					}
					if errors.Is(err, ErrAllFailed) {
						t.Error("a block is not 'all failed'")
					}
				}
			}
			if got := reasons(steps); !reflect.DeepEqual(got, tc.wantSteps) {
				t.Errorf("steps\n got %q\nwant %q", got, tc.wantSteps)
			}
		})
	}
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestCascadeDoesNotStartAfterContextEnds(t *testing.T) {
	u := newUpstreams(t, reply{status: 200, body: geminiOK}, reply{}, reply{})
	c := NewCascade(CascadeConfig{Providers: u.providers})
	ctx, cancel := context.WithCancel(bg(t))
	cancel()
	_, err := c.Complete(ctx, chatRequest())
	ce, ok := errors.AsType[*CascadeError](err)
	if !ok || !ce.Canceled || len(ce.Steps) != 0 {
		t.Fatalf("got %v", err)
	}
	if n := len(u.gemini.requests()); n != 0 {
		t.Errorf("%d requests after cancel", n)
	}

	ctx, cancel = context.WithDeadline(bg(t), time.Now().Add(-time.Second))
	defer cancel()
	_, err = c.Complete(ctx, chatRequest())
	if !errors.Is(err, ErrDeadline) {
		t.Errorf("got %v, want ErrDeadline", err)
	}
}

// keyedReply answers 200 only to the given key, 401 (or Gemini's 400) otherwise.
func keyedReply(good string, okBody string, gemini bool) reply {
	return reply{fn: func(r *http.Request) reply {
		if r.Header.Get("Authorization") == "Bearer "+good || r.Header.Get("x-goog-api-key") == good {
			return reply{status: 200, body: okBody}
		}
		if gemini {
			return reply{status: 400, body: geminiBadKey}
		}
		return reply{status: 401, body: `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`}
	}}
}

func TestCascadeKeyRefresh(t *testing.T) {
	const oldKey, newKey = "gsk_OLD-secret-1111", "gsk_NEW-secret-2222"
	tests := []struct {
		name        string
		gemini      bool
		keys        []string
		wantSteps   []string
		wantErr     bool
		wantSeen    []string
		wantRefresh int
	}{
		{
			name: "groq 401 then rotated key succeeds", keys: []string{oldKey, newKey},
			wantSteps: []string{
				"groq|openai/gpt-oss-20b|failed|HTTP 401 from provider (invalid_api_key)",
				"groq|openai/gpt-oss-20b|success|<nil>",
			},
			wantSeen: []string{"Bearer " + oldKey, "Bearer " + newKey}, wantRefresh: 1,
		},
		{
			name: "gemini 400 API_KEY_INVALID then rotated key succeeds", gemini: true, keys: []string{oldKey, newKey},
			wantSteps: []string{
				"gemini|gemini-2.5-flash-lite|failed|HTTP 400 from provider (API_KEY_INVALID)",
				"gemini|gemini-2.5-flash-lite|success|<nil>",
			},
			wantSeen: []string{oldKey, newKey}, wantRefresh: 1,
		},
		{
			name: "unchanged key is not retried", keys: []string{oldKey},
			wantSteps: []string{"groq|openai/gpt-oss-20b|failed|HTTP 401 from provider (invalid_api_key)"},
			wantErr:   true, wantSeen: []string{"Bearer " + oldKey}, wantRefresh: 1,
		},
		{
			name: "refresh happens once even if the new key fails too", keys: []string{oldKey, "gsk_ALSO-bad-3333", newKey},
			wantSteps: []string{
				"groq|openai/gpt-oss-20b|failed|HTTP 401 from provider (invalid_api_key)",
				"groq|openai/gpt-oss-20b|failed|HTTP 401 from provider (invalid_api_key)",
			},
			wantErr: true, wantSeen: []string{"Bearer " + oldKey, "Bearer gsk_ALSO-bad-3333"}, wantRefresh: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ks := &fakeKeys{keys: tc.keys}
			var p Provider
			var f *fake
			if tc.gemini {
				f = newFake(t, keyedReply(newKey, geminiOK, true))
				p = NewGemini(GeminiConfig{BaseURL: f.URL, Key: ks, HTTPClient: f.Client()})
			} else {
				f = newFake(t, keyedReply(newKey, groqUsage1000, false))
				p = NewGroq(OpenAIConfig{BaseURL: f.URL, Key: ks, HTTPClient: f.Client()})
			}
			c := NewCascade(CascadeConfig{Providers: []Provider{p}, Keys: map[string]KeySource{p.Name(): ks}, AttemptTimeout: time.Second})
			res, err := c.Complete(bg(t), chatRequest())
			assertNoLeak(t, err, tc.keys...)
			var steps []Step
			if tc.wantErr {
				ce, ok := errors.AsType[*CascadeError](err)
				if !ok || !errors.Is(err, ErrAllFailed) {
					t.Fatalf("got %v", err)
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
			var seenKeys []string
			for _, r := range f.requests() {
				seenKeys = append(seenKeys, r.Header.Get("Authorization")+r.Header.Get("x-goog-api-key"))
			}
			if !reflect.DeepEqual(seenKeys, tc.wantSeen) {
				t.Errorf("upstream saw %q, want %q", seenKeys, tc.wantSeen)
			}
			if ks.refreshes != tc.wantRefresh {
				t.Errorf("refreshes = %d", ks.refreshes)
			}
		})
	}
}

func TestCascadeCosts(t *testing.T) {
	tests := []struct {
		name     string
		provider func(f *fake) Provider
		body     string
		want     *float64
	}{
		{
			name:     "known gemini model",
			provider: func(f *fake) Provider { return newTestGemini(f, "") },
			body:     `{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1000,"candidatesTokenCount":400,"thoughtsTokenCount":100,"totalTokenCount":1500}}`,
			want:     ptr(0.0003), // 1000*0.10/1e6 + 500*0.40/1e6
		},
		{
			name: "unknown model is nil",
			provider: func(f *fake) Provider {
				return NewGroq(OpenAIConfig{BaseURL: f.URL, Model: "acme/brand-new-model", Key: StaticKey(testKey), HTTPClient: f.Client()})
			},
			body: groqUsage1000,
		},
		{
			name:     "unreported usage is nil",
			provider: func(f *fake) Provider { return newTestGroq(f) },
			body:     `{"model":"openai/gpt-oss-20b","choices":[{"message":{"content":"x"},"finish_reason":"stop"}]}`,
		},
		{
			name:     "priced by configured model, not the one reported",
			provider: func(f *fake) Provider { return newTestGroq(f) },
			body:     strings.Replace(groqUsage1000, `"model":"openai/gpt-oss-20b"`, `"model":"openai/gpt-oss-20b-2026-08"`, 1),
			want:     ptr(0.000675),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, reply{status: 200, body: tc.body})
			c := NewCascade(CascadeConfig{Providers: []Provider{tc.provider(f)}})
			res, err := c.Complete(bg(t), chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			if (res.CostUSD == nil) != (tc.want == nil) || (res.CostUSD != nil && *res.CostUSD != *tc.want) {
				t.Errorf("cost %v, want %v", deref(res.CostUSD), deref(tc.want))
			}
		})
	}
}

func TestCascadeNoProviders(t *testing.T) {
	_, err := NewCascade(CascadeConfig{}).Complete(bg(t), chatRequest())
	if !errors.Is(err, ErrAllFailed) {
		t.Fatalf("got %v", err)
	}
}

// foreignProvider returns an error type the cascade does not know.
type foreignProvider struct{ err error }

func (foreignProvider) Name() string  { return "foreign" }
func (foreignProvider) Model() string { return "f-1" }
func (p foreignProvider) Complete(context.Context, Request) (*Response, error) {
	return nil, p.err
}

func TestCascadeNeverEchoesForeignErrors(t *testing.T) {
	c := NewCascade(CascadeConfig{Providers: []Provider{
		foreignProvider{errors.New("dial https://x?key=" + testKey)},
		foreignProvider{nil}, // nil response, nil error: a broken provider
		NewDemo(),
	}})
	res, err := c.Complete(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"foreign|f-1|failed|provider error", "foreign|f-1|failed|empty response", "demo|demo-echo-1|success|<nil>"}
	if got := reasons(res.Steps); !reflect.DeepEqual(got, want) {
		t.Errorf("steps %q", got)
	}
	for _, s := range res.Steps {
		if s.Reason != nil && strings.Contains(*s.Reason, testKey) {
			t.Fatal("reason leaks the key")
		}
	}
}

func TestReason(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Kind: KindNetwork}, "network error"},
		{&Error{Kind: KindStatus, Status: 503}, "HTTP 503 from provider"},
		{&Error{Kind: KindAuth, Status: 429, Code: "RESOURCE_EXHAUSTED"}, "HTTP 429 from provider (RESOURCE_EXHAUSTED)"},
		{&Error{Kind: KindBody}, "error in response body"},
		{&Error{Kind: KindMalformed}, "malformed response"},
		{&Error{Kind: KindEmpty}, "empty response"},
		{&Error{Kind: KindSafety}, "blocked by provider safety filter"},
		{&Error{Kind: KindTimeout}, "timeout"},
		{&Error{Kind: KindStatus, Message: "custom"}, "custom"},
	}
	for _, tc := range tests {
		if got := Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%+v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestCascadeProvidersIsACopy(t *testing.T) {
	ps := []Provider{NewDemo()}
	c := NewCascade(CascadeConfig{Providers: ps})
	ps[0] = nil
	got := c.Providers()
	got[0] = nil
	if c.Providers()[0] == nil {
		t.Error("Providers shares its slice")
	}
}

func TestCascadePrefer(t *testing.T) {
	u := newUpstreams(t,
		reply{status: 503, body: googleErr(503, "UNAVAILABLE", "x")},
		reply{status: 200, body: groqUsage1000},
		reply{status: 200, body: openRouterOK},
	)
	base := NewCascade(CascadeConfig{Providers: u.providers})
	tests := []struct {
		name, provider, model string
		wantOrder             []string
		wantErr               error
	}{
		{name: "move configured provider first", provider: "openrouter",
			wantOrder: []string{"openrouter/openai/gpt-oss-20b:free", "gemini/gemini-2.5-flash-lite", "groq/openai/gpt-oss-20b"}},
		{name: "same model as configured", provider: "groq", model: "openai/gpt-oss-20b",
			wantOrder: []string{"groq/openai/gpt-oss-20b", "gemini/gemini-2.5-flash-lite", "openrouter/openai/gpt-oss-20b:free"}},
		{name: "other model first, then configured order", provider: "groq", model: "openai/gpt-oss-120b",
			wantOrder: []string{"groq/openai/gpt-oss-120b", "gemini/gemini-2.5-flash-lite", "groq/openai/gpt-oss-20b", "openrouter/openai/gpt-oss-20b:free"}},
		{name: "unknown provider", provider: "anthropic", wantErr: ErrUnknownProvider},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := base.Prefer(tc.provider, tc.model)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var order []string
			for _, p := range c.Providers() {
				order = append(order, Key(p.Name(), p.Model()))
			}
			if !reflect.DeepEqual(order, tc.wantOrder) {
				t.Errorf("order %q", order)
			}
		})
	}
	if len(base.Providers()) != 3 || base.Providers()[0].Name() != "gemini" {
		t.Error("Prefer modified the base cascade")
	}

	// The preferred model is what goes on the wire and what is priced.
	c, _ := base.Prefer("groq", "openai/gpt-oss-120b")
	res, err := c.Complete(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	if got := u.groq.last(t).jsonBody(t)["model"]; got != "openai/gpt-oss-120b" {
		t.Errorf("wire model %v", got)
	}
	if res.Model != "openai/gpt-oss-120b" || res.CostUSD == nil || *res.CostUSD != 0.00135 {
		t.Errorf("model %s cost %v", res.Model, deref(res.CostUSD))
	}
	if len(u.gemini.requests()) != 0 {
		t.Error("gemini should not be tried first")
	}

	if _, err := NewCascade(CascadeConfig{Providers: []Provider{NewDemo()}}).Prefer("demo", "other"); !errors.Is(err, ErrFixedModel) {
		t.Errorf("demo cannot switch models: %v", err)
	}
}

func TestWithModel(t *testing.T) {
	f := newFake(t, reply{status: 200, body: `{"candidates":[{"content":{"parts":[{"text":"x"}]},"finishReason":"STOP"}]}`})
	g := newTestGemini(f, "").WithModel("gemini-3.5-flash")
	resp, err := g.Complete(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.Path != "/v1beta/models/gemini-3.5-flash:generateContent" || r.Header.Get("x-goog-api-key") != testKey {
		t.Errorf("path %s", r.Path)
	}
	if _, ok := r.jsonBody(t)["generationConfig"].(map[string]any)["thinkingConfig"]; ok {
		t.Error("3.x must not get thinkingBudget")
	}
	if resp.Model != "gemini-3.5-flash" {
		t.Errorf("without modelVersion the configured model is reported, got %q", resp.Model)
	}

	f2 := newFake(t, reply{status: 200, body: `{"choices":[{"message":{"content":"x"}}]}`})
	o := newTestGroq(f2).WithModel("qwen/qwen3.6-27b")
	if _, err := o.Complete(bg(t), chatRequest()); err != nil {
		t.Fatal(err)
	}
	body := f2.last(t).jsonBody(t)
	if body["model"] != "qwen/qwen3.6-27b" || body["reasoning_effort"] != nil {
		t.Errorf("body %v", body)
	}
	fixed := NewGroq(OpenAIConfig{BaseURL: f2.URL, Key: StaticKey(testKey), HTTPClient: f2.Client(), ReasoningEffort: "high"}).WithModel("qwen/qwen3.6-27b")
	if _, err := fixed.Complete(bg(t), chatRequest()); err != nil {
		t.Fatal(err)
	}
	if got := f2.last(t).jsonBody(t)["reasoning_effort"]; got != "high" {
		t.Errorf("configured effort must survive WithModel, got %v", got)
	}
}
