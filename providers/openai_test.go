package providers

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

const groqOK = `{
  "id": "chatcmpl-9f1c", "object": "chat.completion", "created": 1764240000,
  "model": "openai/gpt-oss-20b", "system_fingerprint": "fp_abc123",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Teal.", "reasoning": "The user wants a colour."},
    "logprobs": null, "finish_reason": "stop"}],
  "usage": {"queue_time": 0.02, "prompt_tokens": 21, "prompt_time": 0.001, "completion_tokens": 3,
    "completion_time": 0.002, "total_tokens": 24, "total_time": 0.003,
    "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
  "x_groq": {"id": "req_01abc", "usage": {"dram_cached_tokens": 0, "sram_cached_tokens": 0}},
  "service_tier": "on_demand"
}`

const openRouterOK = `{
  "id": "gen-1764240000-AbCd", "provider": "Groq", "model": "openai/gpt-oss-20b:free",
  "object": "chat.completion", "created": 1764240000,
  "choices": [{"logprobs": null, "finish_reason": "length", "native_finish_reason": "length", "index": 0,
    "message": {"role": "assistant", "content": "Teal is a", "refusal": null, "reasoning": null}}],
  "usage": {"prompt_tokens": 8, "completion_tokens": 11, "total_tokens": 19, "cost": 0, "is_byok": false,
    "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}
}`

func newTestGroq(f *fake) *OpenAICompatible {
	return NewGroq(OpenAIConfig{BaseURL: f.URL + "/openai/v1", Key: StaticKey(testKey), HTTPClient: f.Client()})
}

func newTestOpenRouter(f *fake, headers map[string]string) *OpenAICompatible {
	return NewOpenRouter(OpenAIConfig{BaseURL: f.URL + "/api/v1/", Key: StaticKey(testKey), HTTPClient: f.Client(), Headers: headers})
}

func TestGroqRequestWireFormat(t *testing.T) {
	f := newFake(t, reply{status: 200, body: groqOK})
	g := newTestGroq(f)
	if g.Name() != "groq" || g.Model() != DefaultGroqModel {
		t.Errorf("name/model = %s/%s", g.Name(), g.Model())
	}
	req := chatRequest()
	req.Messages = append(req.Messages, Message{Role: "tool", Content: "odd role"})
	if _, err := g.Complete(bg(t), req); err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.Method != http.MethodPost || r.Path != "/openai/v1/chat/completions" || r.RawQuery != "" {
		t.Errorf("got %s %s?%s", r.Method, r.Path, r.RawQuery)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
		t.Errorf("Authorization = %q", got)
	}
	if r.Header.Get("x-goog-api-key") != "" || r.Header.Get("HTTP-Referer") != "" {
		t.Error("Groq must not get Gemini or OpenRouter headers")
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	want := map[string]any{
		"model": "openai/gpt-oss-20b",
		"messages": []any{
			map[string]any{"role": "system", "content": "You are terse."},
			map[string]any{"role": "user", "content": "Hi"},
			map[string]any{"role": "assistant", "content": "Hello."},
			map[string]any{"role": "user", "content": "Name a colour."},
			map[string]any{"role": "user", "content": "odd role"},
		},
		"max_completion_tokens": 64.0,
		"temperature":           0.7,
		"top_p":                 0.95,
		"stop":                  []any{"\n\n"},
		"user":                  "end-user-1",
		"reasoning_effort":      "low",
	}
	if body := r.jsonBody(t); !reflect.DeepEqual(body, want) {
		t.Errorf("request body\n got %#v\nwant %#v", body, want)
	}
	// Groq answers 400 to any of these (providers.md gotcha 8).
	for _, banned := range []string{`"logprobs"`, `"logit_bias"`, `"top_logprobs"`, `"name"`, `"n"`, `"max_tokens"`} {
		if strings.Contains(string(r.Body), banned) {
			t.Errorf("request carries %s", banned)
		}
	}
}

func TestOpenRouterRequestWireFormat(t *testing.T) {
	tests := []struct {
		name        string
		headers     map[string]string
		wantReferer string
		wantTitle   string
		wantExtra   map[string]string
	}{
		{name: "defaults", wantReferer: DefaultOpenRouterReferer, wantTitle: DefaultOpenRouterTitle},
		{
			name:        "configured title sets both headers",
			headers:     map[string]string{"http-referer": "https://example.org", "X-OpenRouter-Title": "My App"},
			wantReferer: "https://example.org", wantTitle: "My App",
		},
		{
			name:        "legacy title only",
			headers:     map[string]string{"X-Title": "Legacy", "X-OpenRouter-Categories": "cli-agent", "Authorization": "Bearer attacker"},
			wantReferer: DefaultOpenRouterReferer, wantTitle: "Legacy",
			wantExtra: map[string]string{"X-OpenRouter-Categories": "cli-agent"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, reply{status: 200, body: openRouterOK})
			before := maps2(tc.headers)
			o := newTestOpenRouter(f, tc.headers)
			if _, err := o.Complete(bg(t), chatRequest()); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(before, maps2(tc.headers)) {
				t.Error("NewOpenRouter modified the caller's Headers")
			}
			r := f.last(t)
			if r.Path != "/api/v1/chat/completions" {
				t.Errorf("path %s", r.Path)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+testKey {
				t.Errorf("Authorization = %q (configured headers must not replace it)", got)
			}
			if got := r.Header.Get("HTTP-Referer"); got != tc.wantReferer {
				t.Errorf("HTTP-Referer = %q", got)
			}
			if got := r.Header.Get("X-OpenRouter-Title"); got != tc.wantTitle {
				t.Errorf("X-OpenRouter-Title = %q", got)
			}
			if got := r.Header.Get("X-Title"); got != tc.wantTitle {
				t.Errorf("X-Title = %q", got)
			}
			for k, v := range tc.wantExtra {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s = %q", k, got)
				}
			}
			body := r.jsonBody(t)
			if body["max_tokens"] != 64.0 || body["max_completion_tokens"] != nil {
				t.Errorf("OpenRouter wants max_tokens: %v", body)
			}
			if body["model"] != DefaultOpenRouterModel {
				t.Errorf("model %v", body["model"])
			}
		})
	}
}

func maps2(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestOpenAICompatibleResponses(t *testing.T) {
	tests := []struct {
		name       string
		openRouter bool
		reply      reply
		max        int64

		wantText   string
		wantFinish string
		wantModel  string
		wantUsage  Usage

		wantKind  Kind
		wantCode  string
		wantMsg   string
		wantRetry time.Duration
		wantCats  []string
		forbidden []string
	}{
		{
			name: "groq success", reply: reply{status: 200, body: groqOK},
			wantText: "Teal.", wantFinish: "stop", wantModel: "openai/gpt-oss-20b",
			wantUsage: Usage{PromptTokens: 21, CompletionTokens: 3, TotalTokens: 24, Reported: true},
		},
		{
			name: "openrouter success, length", openRouter: true, reply: reply{status: 200, body: openRouterOK},
			wantText: "Teal is a", wantFinish: "length", wantModel: "openai/gpt-oss-20b:free",
			wantUsage: Usage{PromptTokens: 8, CompletionTokens: 11, TotalTokens: 19, Reported: true},
		},
		{
			name:     "no usage reported",
			reply:    reply{status: 200, body: `{"model":"m","choices":[{"message":{"content":"ok"},"finish_reason":"stop"}]}`},
			wantText: "ok", wantFinish: "stop", wantModel: "m",
		},
		{
			name:     "content as parts",
			reply:    reply{status: 200, body: `{"model":"m","choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{}},{"type":"text","text":"b"}]},"finish_reason":"stop"}]}`},
			wantText: "ab", wantFinish: "stop", wantModel: "m",
		},
		{
			name:     "refusal is the answer",
			reply:    reply{status: 200, body: `{"model":"m","choices":[{"message":{"content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}]}`},
			wantText: "I can't help with that.", wantFinish: "stop", wantModel: "m",
		},
		{
			name:     "missing finish reason means stop",
			reply:    reply{status: 200, body: `{"model":"m","choices":[{"message":{"content":"ok"}}]}`},
			wantText: "ok", wantFinish: "stop", wantModel: "m",
		},
		{
			name:     "groq 401 invalid key",
			reply:    reply{status: 401, body: `{"error":{"message":"Invalid API Key: ` + testKey + `","type":"invalid_request_error","code":"invalid_api_key"}}`},
			wantKind: KindAuth, wantCode: "invalid_api_key", wantMsg: "HTTP 401 from provider (invalid_api_key)",
		},
		{
			name:     "groq 403",
			reply:    reply{status: 403, body: `{"error":{"message":"Forbidden","type":"permission_error"}}`},
			wantKind: KindAuth, wantCode: "permission_error", wantMsg: "HTTP 403 from provider (permission_error)",
		},
		{
			name: "groq 429 with retry-after",
			reply: reply{status: 429, header: map[string]string{
				"retry-after": "2", "x-ratelimit-limit-requests": "14400", "x-ratelimit-reset-tokens": "7.66s",
			}, body: "{\"error\":{\"message\":\"Rate limit reached for model `openai/gpt-oss-20b` in organization `org_x` service tier `on_demand` on tokens per minute (TPM): Limit 8000, Used 7990, Requested 120. Please try again in 825ms.\",\"type\":\"tokens\",\"code\":\"rate_limit_exceeded\"}}"},
			wantKind: KindStatus, wantCode: "rate_limit_exceeded", wantRetry: 2 * time.Second,
			wantMsg: "HTTP 429 from provider (rate_limit_exceeded)", forbidden: []string{"org_x"},
		},
		{
			name:     "groq 400 decommissioned model",
			reply:    reply{status: 400, body: "{\"error\":{\"message\":\"The model `llama-3.3-70b-versatile` has been decommissioned and is no longer supported.\",\"type\":\"invalid_request_error\",\"code\":\"model_decommissioned\"}}"},
			wantKind: KindStatus, wantCode: "model_decommissioned", wantMsg: "HTTP 400 from provider (model_decommissioned)",
			forbidden: []string{"llama"},
		},
		{
			name:     "groq 404 unknown model",
			reply:    reply{status: 404, body: "{\"error\":{\"message\":\"The model `nope` does not exist or you do not have access to it.\",\"type\":\"invalid_request_error\",\"code\":\"model_not_found\"}}"},
			wantKind: KindStatus, wantCode: "model_not_found", wantMsg: "HTTP 404 from provider (model_not_found)",
		},
		{
			name:     "500",
			reply:    reply{status: 500, body: `{"error":{"message":"Internal Server Error","type":"internal_server_error"}}`},
			wantKind: KindStatus, wantCode: "internal_server_error", wantMsg: "HTTP 500 from provider (internal_server_error)",
		},
		{
			name:     "503 with fractional Retry-After",
			reply:    reply{status: 503, header: map[string]string{"Retry-After": "1.5"}, body: `{"error":{"message":"Service Unavailable","type":"internal_server_error","code":"service_unavailable"}}`},
			wantKind: KindStatus, wantCode: "service_unavailable", wantRetry: 1500 * time.Millisecond,
			wantMsg: "HTTP 503 from provider (service_unavailable)",
		},
		{
			name:     "498 flex capacity",
			reply:    reply{status: 498, body: `{"error":{"message":"Flex tier capacity exceeded","type":"capacity_exceeded","code":"capacity_exceeded"}}`},
			wantKind: KindStatus, wantCode: "capacity_exceeded", wantMsg: "HTTP 498 from provider (capacity_exceeded)",
		},
		{
			name:     "non-JSON error body",
			reply:    reply{status: 502, header: map[string]string{"Content-Type": "text/html"}, body: "<html>502 Bad Gateway</html>"},
			wantKind: KindStatus, wantMsg: "HTTP 502 from provider", forbidden: []string{"Bad Gateway"},
		},
		{
			name: "openrouter numeric code 402", openRouter: true,
			reply:    reply{status: 402, body: `{"error":{"code":402,"message":"Insufficient credits. This account never purchased credits.","metadata":{"provider_name":null}}}`},
			wantKind: KindStatus, wantMsg: "HTTP 402 from provider", forbidden: []string{"credits"},
		},
		{
			name: "openrouter 429 free daily limit", openRouter: true,
			reply: reply{status: 429, header: map[string]string{"Retry-After": "60"},
				body: `{"error":{"code":429,"message":"Rate limit exceeded: free-models-per-day. Add 10 credits to unlock 1000 free model requests per day","metadata":{"headers":{"X-RateLimit-Limit":"50","X-RateLimit-Remaining":"0","X-RateLimit-Reset":"1764288000000"}}}}`},
			wantKind: KindStatus, wantMsg: "HTTP 429 from provider", wantRetry: time.Minute,
		},
		{
			name: "openrouter 403 moderation", openRouter: true,
			reply:    reply{status: 403, body: `{"error":{"code":403,"message":"openai/gpt-oss-20b requires moderation on OpenAI. Your input was flagged for \"harassment\". No credits were charged.","metadata":{"reasons":["harassment","violence/graphic"],"flagged_input":"you are a worthless...","provider_name":"OpenAI","model_slug":"openai/gpt-oss-20b"}}}`},
			wantKind: KindSafety, wantCode: "moderation", wantCats: []string{"harassment", "violence/graphic"},
			forbidden: []string{"worthless"},
		},
		{
			name: "openrouter 403 flagged without reasons", openRouter: true,
			reply:    reply{status: 403, body: `{"error":{"code":403,"message":"flagged","metadata":{"flagged_input":"secret prompt text"}}}`},
			wantKind: KindSafety, wantCode: "moderation", wantCats: []string{"moderation"}, forbidden: []string{"secret prompt text"},
		},
		{
			name: "openrouter 403 key limit is auth", openRouter: true,
			reply:    reply{status: 403, body: `{"error":{"code":403,"message":"Key limit exceeded"}}`},
			wantKind: KindAuth, wantMsg: "HTTP 403 from provider",
		},
		{
			name: "200 with top-level error", openRouter: true,
			reply:    reply{status: 200, body: `{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Azure","raw":"upstream said no"}}}`},
			wantKind: KindBody, wantMsg: "error in response body", forbidden: []string{"upstream said no"},
		},
		{
			name: "200 with choices error", openRouter: true,
			reply:    reply{status: 200, body: `{"id":"gen-1","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Partial ans"},"finish_reason":"error","error":{"code":"server_error","message":"Provider disconnected"}}]}`},
			wantKind: KindBody, wantCode: "server_error", wantMsg: "error in response body",
		},
		{
			name:     "finish_reason error alone",
			reply:    reply{status: 200, body: `{"model":"m","choices":[{"message":{"content":""},"finish_reason":"error"}]}`},
			wantKind: KindBody, wantMsg: "error in response body",
		},
		{
			name:     "content_filter with no text is safety",
			reply:    reply{status: 200, body: `{"model":"m","choices":[{"message":{"content":null},"finish_reason":"content_filter"}],"usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5}}`},
			wantKind: KindSafety, wantCode: "content_filter", wantCats: []string{"content_filter"},
		},
		{
			name:     "content_filter with partial text is an answer",
			reply:    reply{status: 200, body: `{"model":"m","choices":[{"message":{"content":"Part"},"finish_reason":"content_filter"}]}`},
			wantText: "Part", wantFinish: "content_filter", wantModel: "m",
		},
		{
			name:     "length with no text is empty",
			reply:    reply{status: 200, body: `{"model":"m","choices":[{"message":{"content":"","reasoning":"long thoughts"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":64,"total_tokens":69}}`},
			wantKind: KindEmpty, wantCode: "length", wantMsg: "empty response (max tokens reached)",
		},
		{
			name:     "no choices is empty",
			reply:    reply{status: 200, body: `{"id":"x","model":"m","choices":[]}`},
			wantKind: KindEmpty, wantMsg: "empty response",
		},
		{
			name:     "malformed JSON",
			reply:    reply{status: 200, body: `{"choices":[`},
			wantKind: KindMalformed, wantMsg: "malformed response",
		},
		{
			name:     "HTML with 200",
			reply:    reply{status: 200, header: map[string]string{"Content-Type": "text/html"}, body: `<html>maintenance</html>`},
			wantKind: KindMalformed, wantMsg: "malformed response",
		},
		{
			name: "oversized body", max: 256,
			reply:    reply{status: 200, body: `{"choices":[{"message":{"content":"` + strings.Repeat("z", 1000) + `"}}]}`},
			wantKind: KindMalformed, wantMsg: "response too large",
		},
		{
			name: "oversized chunked body", max: 256,
			reply:    reply{status: 200, chunked: true, body: `{"choices":[{"message":{"content":"` + strings.Repeat("z", 1000) + `"}}]}`},
			wantKind: KindMalformed, wantMsg: "response too large",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.reply)
			cfg := OpenAIConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: NewHTTPClient(), MaxBodyBytes: tc.max}
			p, name := NewGroq(cfg), "groq"
			if tc.openRouter {
				p, name = NewOpenRouter(cfg), "openrouter"
			}
			resp, err := p.Complete(bg(t), chatRequest())
			assertNoLeak(t, err, append([]string{testKey, f.URL}, tc.forbidden...)...)
			if tc.wantKind == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if resp.Text != tc.wantText || resp.FinishReason != tc.wantFinish || resp.Model != tc.wantModel || resp.Usage != tc.wantUsage {
					t.Errorf("got %+v", resp)
				}
				return
			}
			pe := mustError(t, err, tc.wantKind)
			if pe.Provider != name || pe.Code != tc.wantCode || pe.RetryAfter != tc.wantRetry {
				t.Errorf("got provider=%q code=%q retry=%v", pe.Provider, pe.Code, pe.RetryAfter)
			}
			if tc.wantMsg != "" && pe.Message != tc.wantMsg {
				t.Errorf("message = %q, want %q", pe.Message, tc.wantMsg)
			}
			if tc.wantCats != nil && !reflect.DeepEqual(pe.Categories, tc.wantCats) {
				t.Errorf("categories = %v, want %v", pe.Categories, tc.wantCats)
			}
			if got := errors.Is(err, ErrSafetyBlocked); got != (tc.wantKind == KindSafety) {
				t.Errorf("errors.Is(ErrSafetyBlocked) = %v", got)
			}
		})
	}
}

func TestOpenAICompatibleTransportFailures(t *testing.T) {
	t.Run("hang becomes timeout", func(t *testing.T) {
		f := newFake(t, reply{hang: true})
		ctx, cancel := context.WithTimeout(bg(t), 50*time.Millisecond)
		defer cancel()
		_, err := newTestGroq(f).Complete(ctx, chatRequest())
		mustError(t, err, KindTimeout)
		assertNoLeak(t, err, testKey, f.URL)
	})
	t.Run("slow body becomes timeout", func(t *testing.T) {
		// Headers arrive at once, the body never finishes.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(200)
			w.Write([]byte(`{"choices":[`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}))
		defer srv.Close()
		ctx, cancel := context.WithTimeout(bg(t), 50*time.Millisecond)
		defer cancel()
		p := NewGroq(OpenAIConfig{BaseURL: srv.URL, Key: StaticKey(testKey), HTTPClient: srv.Client()})
		_, err := p.Complete(ctx, chatRequest())
		mustError(t, err, KindTimeout)
	})
	t.Run("client cancel", func(t *testing.T) {
		f := newFake(t, reply{hang: true})
		ctx, cancel := context.WithCancel(bg(t))
		time.AfterFunc(30*time.Millisecond, cancel)
		_, err := newTestOpenRouter(f, nil).Complete(ctx, chatRequest())
		mustError(t, err, KindCanceled)
	})
	t.Run("connection refused", func(t *testing.T) {
		f := newFake(t)
		url := f.URL
		f.Close()
		p := NewGroq(OpenAIConfig{BaseURL: url, Key: StaticKey(testKey), HTTPClient: NewHTTPClient()})
		_, err := p.Complete(bg(t), chatRequest())
		mustError(t, err, KindNetwork)
		assertNoLeak(t, err, testKey, url, "chat/completions")
	})
	t.Run("key source failure", func(t *testing.T) {
		f := newFake(t, reply{status: 200, body: groqOK})
		p := NewGroq(OpenAIConfig{BaseURL: f.URL, Key: failingKey{}, HTTPClient: f.Client()})
		_, err := p.Complete(bg(t), chatRequest())
		pe := mustError(t, err, KindAuth)
		if pe.Message != "API key unavailable" || len(f.requests()) != 0 {
			t.Errorf("message %q, requests %d", pe.Message, len(f.requests()))
		}
	})
}

type failingKey struct{}

func (failingKey) Key(context.Context) (string, error) { return "", errors.New("secret fetch failed") }
func (failingKey) Refresh(context.Context) (string, error) {
	return "", errors.New("secret fetch failed")
}

func TestCustomCompatibleProviderByConfigOnly(t *testing.T) {
	f := newFake(t, reply{status: 200, body: groqOK})
	p := NewOpenAICompatible(OpenAIConfig{Name: "together", BaseURL: f.URL + "/v1", Model: "meta/llama", Key: StaticKey(testKey), HTTPClient: f.Client()})
	resp, err := p.Complete(bg(t), Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 10})
	if err != nil || resp.Text != "Teal." {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	body := f.last(t).jsonBody(t)
	if body["model"] != "meta/llama" || body["max_completion_tokens"] != 10.0 || body["reasoning_effort"] != nil {
		t.Errorf("body %v", body)
	}
	if p.Name() != "together" || f.last(t).Path != "/v1/chat/completions" {
		t.Errorf("name %s path %s", p.Name(), f.last(t).Path)
	}
}
