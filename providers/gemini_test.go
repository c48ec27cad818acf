package providers

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

const geminiOK = `{
  "candidates": [{
    "content": {"role": "model", "parts": [{"text": "Te"}, {"text": "al."}]},
    "finishReason": "STOP", "index": 0,
    "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}],
    "avgLogprobs": -0.12
  }],
  "usageMetadata": {"promptTokenCount": 21, "candidatesTokenCount": 2, "thoughtsTokenCount": 37,
    "totalTokenCount": 60, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 21}], "serviceTier": "standard"},
  "modelVersion": "gemini-2.5-flash-lite",
  "responseId": "q3VnaZr0Bp6Yx_AP2LuQ4Q4"
}`

const gemini429 = `{"error": {"code": 429,
  "message": "You exceeded your current quota, please check your plan and billing details. Please retry in 21.4s.",
  "status": "RESOURCE_EXHAUSTED",
  "details": [
    {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests", "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaDimensions": {"location": "global", "model": "gemini-2.5-flash-lite"}, "quotaValue": "10"}]},
    {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "21s"}
  ]}}`

// The upstream message echoes the key to prove it never reaches our errors.
const geminiBadKey = `{"error": {"code": 400, "message": "API key not valid (` + testKey + `). Please pass a valid API key.",
  "status": "INVALID_ARGUMENT",
  "details": [
    {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
    {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": "API key not valid. Please pass a valid API key."}
  ]}}`

func googleErr(code int, status, msg string) string {
	return `{"error": {"code": ` + strconv.Itoa(code) + `, "message": "` + msg + `", "status": "` + status + `"}}`
}

func newTestGemini(f *fake, model string) *Gemini {
	return NewGemini(GeminiConfig{BaseURL: f.URL, Model: model, Key: StaticKey(testKey), HTTPClient: f.Client()})
}

func chatRequest() Request {
	return Request{
		Messages: []Message{
			{Role: "system", Content: "You are terse."},
			{Role: "user", Content: "Hi"},
			{Role: "assistant", Content: "Hello."},
			{Role: "user", Content: "Name a colour."},
		},
		MaxTokens:   64,
		Temperature: ptr(0.7),
		TopP:        ptr(0.95),
		Stop:        []string{"\n\n"},
		User:        "end-user-1",
	}
}

func TestGeminiRequestWireFormat(t *testing.T) {
	f := newFake(t, reply{status: 200, body: geminiOK})
	g := newTestGemini(f, "")
	if _, err := g.Complete(bg(t), chatRequest()); err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.Method != http.MethodPost || r.Path != "/v1beta/models/gemini-2.5-flash-lite:generateContent" {
		t.Errorf("got %s %s", r.Method, r.Path)
	}
	if r.RawQuery != "" || strings.Contains(r.RawQuery, testKey) {
		t.Errorf("query must be empty (key only in header), got %q", r.RawQuery)
	}
	if got := r.Header.Get("x-goog-api-key"); got != testKey {
		t.Errorf("x-goog-api-key = %q", got)
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("Gemini must not get an Authorization header")
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	body := r.jsonBody(t)
	want := map[string]any{
		"systemInstruction": map[string]any{"parts": []any{map[string]any{"text": "You are terse."}}},
		"contents": []any{
			map[string]any{"role": "user", "parts": []any{map[string]any{"text": "Hi"}}},
			map[string]any{"role": "model", "parts": []any{map[string]any{"text": "Hello."}}},
			map[string]any{"role": "user", "parts": []any{map[string]any{"text": "Name a colour."}}},
		},
		"generationConfig": map[string]any{
			"maxOutputTokens": 64.0, "temperature": 0.7, "topP": 0.95,
			"stopSequences": []any{"\n\n"}, "candidateCount": 1.0,
			"thinkingConfig": map[string]any{"thinkingBudget": 0.0},
		},
	}
	if !reflect.DeepEqual(body, want) {
		t.Errorf("request body\n got %#v\nwant %#v", body, want)
	}
}

func TestGeminiThinkingBudgetOnlyForFlash25(t *testing.T) {
	for _, tc := range []struct {
		model string
		want  bool
	}{
		{"gemini-2.5-flash-lite", true},
		{"gemini-2.5-flash", true},
		{"models/gemini-2.5-flash", true},
		{"gemini-2.5-pro", false},
		{"gemini-3.5-flash", false},
	} {
		t.Run(tc.model, func(t *testing.T) {
			f := newFake(t, reply{status: 200, body: geminiOK})
			g := newTestGemini(f, tc.model)
			if _, err := g.Complete(bg(t), Request{Messages: []Message{{Role: "user", Content: "x"}}}); err != nil {
				t.Fatal(err)
			}
			gc := f.last(t).jsonBody(t)["generationConfig"].(map[string]any)
			_, got := gc["thinkingConfig"]
			if got != tc.want {
				t.Errorf("thinkingConfig present = %v, want %v", got, tc.want)
			}
			if want := "/v1beta/models/" + strings.TrimPrefix(tc.model, "models/") + ":generateContent"; f.last(t).Path != want {
				t.Errorf("path %s, want %s", f.last(t).Path, want)
			}
		})
	}
}

func TestGeminiSystemOnlyBecomesUserTurn(t *testing.T) {
	f := newFake(t, reply{status: 200, body: geminiOK})
	g := newTestGemini(f, "")
	if _, err := g.Complete(bg(t), Request{Messages: []Message{{Role: "system", Content: "Say hi"}}}); err != nil {
		t.Fatal(err)
	}
	body := f.last(t).jsonBody(t)
	if _, ok := body["systemInstruction"]; ok {
		t.Error("system-only request should not send systemInstruction")
	}
	c := body["contents"].([]any)
	if len(c) != 1 || c[0].(map[string]any)["role"] != "user" {
		t.Errorf("contents = %v", c)
	}
}

func TestGeminiResponses(t *testing.T) {
	tests := []struct {
		name  string
		reply reply
		max   int64
		// success
		wantText   string
		wantFinish string
		wantUsage  Usage
		wantModel  string
		// failure
		wantKind   Kind
		wantStatus int
		wantCode   string
		wantMsg    string
		wantRetry  time.Duration
		wantCats   []string
		forbidden  []string // strings the error must not show (upstream text)
	}{
		{
			name: "success", reply: reply{status: 200, body: geminiOK},
			wantText: "Teal.", wantFinish: "stop", wantModel: "gemini-2.5-flash-lite",
			wantUsage: Usage{PromptTokens: 21, CompletionTokens: 39, TotalTokens: 60, Reported: true},
		},
		{
			name: "success chunked", reply: reply{status: 200, body: geminiOK, chunked: true},
			wantText: "Teal.", wantFinish: "stop", wantModel: "gemini-2.5-flash-lite",
			wantUsage: Usage{PromptTokens: 21, CompletionTokens: 39, TotalTokens: 60, Reported: true},
		},
		{
			name:     "thought parts are not answer text",
			reply:    reply{status: 200, body: `{"candidates":[{"content":{"parts":[{"text":"thinking...","thought":true},{"text":"Blue."}]},"finishReason":"STOP"}],"modelVersion":"m"}`},
			wantText: "Blue.", wantFinish: "stop", wantModel: "m",
		},
		{
			name:     "max tokens with text is length",
			reply:    reply{status: 200, body: `{"candidates":[{"content":{"parts":[{"text":"Once upon"}]},"finishReason":"MAX_TOKENS"}],"usageMetadata":{"promptTokenCount":5,"candidatesTokenCount":2},"modelVersion":"m"}`},
			wantText: "Once upon", wantFinish: "length", wantModel: "m",
			wantUsage: Usage{PromptTokens: 5, CompletionTokens: 2, TotalTokens: 7, Reported: true},
		},
		{
			name:     "max tokens without text is empty",
			reply:    reply{status: 200, body: `{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS","index":0}],"usageMetadata":{"promptTokenCount":9,"thoughtsTokenCount":64,"totalTokenCount":73},"modelVersion":"gemini-2.5-flash"}`},
			wantKind: KindEmpty, wantStatus: 200, wantCode: "MAX_TOKENS", wantMsg: "empty response (max tokens reached)",
		},
		{
			name:     "no candidates is empty",
			reply:    reply{status: 200, body: `{"usageMetadata":{"promptTokenCount":3,"totalTokenCount":3},"modelVersion":"m"}`},
			wantKind: KindEmpty, wantStatus: 200, wantMsg: "empty response",
		},
		{
			name:     "prompt blocked",
			reply:    reply{status: 200, body: `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true},{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"}]},"usageMetadata":{"promptTokenCount":14,"totalTokenCount":14},"modelVersion":"gemini-2.5-flash","responseId":"x"}`},
			wantKind: KindSafety, wantStatus: 200, wantCode: "SAFETY", wantCats: []string{"dangerous_content"},
		},
		{
			name:     "prompt blocked without ratings",
			reply:    reply{status: 200, body: `{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"}}`},
			wantKind: KindSafety, wantStatus: 200, wantCode: "PROHIBITED_CONTENT", wantCats: []string{"prohibited_content"},
		},
		{
			name:     "finish SAFETY",
			reply:    reply{status: 200, body: `{"candidates":[{"content":{"parts":[{"text":"partial"}]},"finishReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH"},{"category":"HARM_CATEGORY_HATE_SPEECH","probability":"MEDIUM","blocked":true},{"category":"HARM_CATEGORY_SEXUALLY_EXPLICIT","probability":"LOW"}]}]}`},
			wantKind: KindSafety, wantStatus: 200, wantCode: "SAFETY", wantCats: []string{"harassment", "hate_speech"},
		},
		{
			name:     "finish RECITATION",
			reply:    reply{status: 200, body: `{"candidates":[{"content":{"parts":[]},"finishReason":"RECITATION"}]}`},
			wantKind: KindSafety, wantStatus: 200, wantCode: "RECITATION", wantCats: []string{"recitation"},
		},
		{
			name: "finish SPII", reply: reply{status: 200, body: `{"candidates":[{"finishReason":"SPII"}]}`},
			wantKind: KindSafety, wantStatus: 200, wantCode: "SPII", wantCats: []string{"spii"},
		},
		{
			name: "finish BLOCKLIST", reply: reply{status: 200, body: `{"candidates":[{"finishReason":"BLOCKLIST"}]}`},
			wantKind: KindSafety, wantStatus: 200, wantCode: "BLOCKLIST", wantCats: []string{"blocklist"},
		},
		{
			name:     "429 with RetryInfo",
			reply:    reply{status: 429, body: gemini429},
			wantKind: KindStatus, wantStatus: 429, wantCode: "RESOURCE_EXHAUSTED", wantRetry: 21 * time.Second,
			wantMsg: "HTTP 429 from provider (RESOURCE_EXHAUSTED)", forbidden: []string{"quota", "billing"},
		},
		{
			name:     "fractional retry delay",
			reply:    reply{status: 429, body: `{"error":{"code":429,"message":"m","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"0.5s"}]}}`},
			wantKind: KindStatus, wantStatus: 429, wantCode: "RESOURCE_EXHAUSTED", wantRetry: 500 * time.Millisecond,
			wantMsg: "HTTP 429 from provider (RESOURCE_EXHAUSTED)",
		},
		{
			name:     "400 API_KEY_INVALID is auth",
			reply:    reply{status: 400, body: geminiBadKey},
			wantKind: KindAuth, wantStatus: 400, wantCode: "API_KEY_INVALID", wantMsg: "HTTP 400 from provider (API_KEY_INVALID)",
			forbidden: []string{"not valid"},
		},
		{
			name:     "400 invalid argument is status",
			reply:    reply{status: 400, body: googleErr(400, "INVALID_ARGUMENT", "Invalid JSON payload received.")},
			wantKind: KindStatus, wantStatus: 400, wantCode: "INVALID_ARGUMENT", wantMsg: "HTTP 400 from provider (INVALID_ARGUMENT)",
		},
		{
			name:     "403 permission denied is auth",
			reply:    reply{status: 403, body: googleErr(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.")},
			wantKind: KindAuth, wantStatus: 403, wantCode: "PERMISSION_DENIED", wantMsg: "HTTP 403 from provider (PERMISSION_DENIED)",
		},
		{
			name:     "404 unknown model",
			reply:    reply{status: 404, body: googleErr(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.")},
			wantKind: KindStatus, wantStatus: 404, wantCode: "NOT_FOUND", wantMsg: "HTTP 404 from provider (NOT_FOUND)",
			forbidden: []string{"gemini-9"},
		},
		{
			name:     "500 internal",
			reply:    reply{status: 500, body: googleErr(500, "INTERNAL", "An internal error has occurred.")},
			wantKind: KindStatus, wantStatus: 500, wantCode: "INTERNAL", wantMsg: "HTTP 500 from provider (INTERNAL)",
		},
		{
			name:     "503 unavailable with Retry-After header",
			reply:    reply{status: 503, header: map[string]string{"Retry-After": "7"}, body: googleErr(503, "UNAVAILABLE", "The model is overloaded. Please try again later.")},
			wantKind: KindStatus, wantStatus: 503, wantCode: "UNAVAILABLE", wantMsg: "HTTP 503 from provider (UNAVAILABLE)", wantRetry: 7 * time.Second,
		},
		{
			name:     "array-form error body",
			reply:    reply{status: 503, body: `[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]`},
			wantKind: KindStatus, wantStatus: 503, wantCode: "UNAVAILABLE", wantMsg: "HTTP 503 from provider (UNAVAILABLE)",
		},
		{
			name:     "non-JSON error body",
			reply:    reply{status: 502, header: map[string]string{"Content-Type": "text/html"}, body: "<html><body>502 Bad Gateway " + testKey + "</body></html>"},
			wantKind: KindStatus, wantStatus: 502, wantMsg: "HTTP 502 from provider", forbidden: []string{"Bad Gateway", "<html>"},
		},
		{
			name:     "status word that is not an enum is dropped",
			reply:    reply{status: 500, body: `{"error":{"code":500,"status":"please email admin@example.com"}}`},
			wantKind: KindStatus, wantStatus: 500, wantMsg: "HTTP 500 from provider", forbidden: []string{"admin@"},
		},
		{
			name:     "200 with error body",
			reply:    reply{status: 200, body: `{"error":{"code":500,"message":"internal","status":"INTERNAL"}}`},
			wantKind: KindBody, wantStatus: 200, wantCode: "INTERNAL", wantMsg: "error in response body",
		},
		{
			name:     "malformed JSON",
			reply:    reply{status: 200, body: `{"candidates":[{"content":`},
			wantKind: KindMalformed, wantStatus: 200, wantMsg: "malformed response",
		},
		{
			name:     "wrong JSON type",
			reply:    reply{status: 200, body: `{"candidates":"nope"}`},
			wantKind: KindMalformed, wantStatus: 200, wantMsg: "malformed response",
		},
		{
			name: "oversized body", max: 512,
			reply:    reply{status: 200, body: `{"candidates":[{"content":{"parts":[{"text":"` + strings.Repeat("a", 1024) + `"}]}}]}`},
			wantKind: KindMalformed, wantStatus: 200, wantMsg: "response too large",
		},
		{
			name: "oversized chunked body", max: 512,
			reply:    reply{status: 200, chunked: true, body: `{"candidates":[{"content":{"parts":[{"text":"` + strings.Repeat("a", 1024) + `"}]}}]}`},
			wantKind: KindMalformed, wantStatus: 200, wantMsg: "response too large",
		},
		{
			name: "oversized error body", max: 512,
			reply:    reply{status: 500, body: strings.Repeat("x", 2048)},
			wantKind: KindMalformed, wantStatus: 500, wantMsg: "response too large",
		},
		{
			name:     "redirect is not followed",
			reply:    reply{status: 307, header: map[string]string{"Location": "http://127.0.0.1:1/steal"}, body: ""},
			wantKind: KindStatus, wantStatus: 307, wantMsg: "HTTP 307 from provider",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.reply)
			g := NewGemini(GeminiConfig{BaseURL: f.URL + "/", Key: StaticKey(testKey), HTTPClient: NewHTTPClient(), MaxBodyBytes: tc.max})
			resp, err := g.Complete(bg(t), chatRequest())
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
			if resp != nil {
				t.Errorf("response %+v alongside error", resp)
			}
			pe := mustError(t, err, tc.wantKind)
			if pe.Provider != "gemini" || pe.Status != tc.wantStatus || pe.Code != tc.wantCode || pe.RetryAfter != tc.wantRetry {
				t.Errorf("got provider=%q status=%d code=%q retry=%v", pe.Provider, pe.Status, pe.Code, pe.RetryAfter)
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

func TestGeminiTransportFailures(t *testing.T) {
	t.Run("hang becomes timeout", func(t *testing.T) {
		f := newFake(t, reply{hang: true})
		g := newTestGemini(f, "")
		ctx, cancel := context.WithTimeout(bg(t), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := g.Complete(ctx, chatRequest())
		mustError(t, err, KindTimeout)
		assertNoLeak(t, err, testKey, f.URL)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Error("timeout should match context.DeadlineExceeded")
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("took %v", d)
		}
	})
	t.Run("client cancel", func(t *testing.T) {
		f := newFake(t, reply{hang: true})
		g := newTestGemini(f, "")
		ctx, cancel := context.WithCancel(bg(t))
		time.AfterFunc(30*time.Millisecond, cancel)
		_, err := g.Complete(ctx, chatRequest())
		mustError(t, err, KindCanceled)
		if !errors.Is(err, context.Canceled) {
			t.Error("cancel should match context.Canceled")
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		f := newFake(t)
		url := f.URL
		f.Close()
		g := NewGemini(GeminiConfig{BaseURL: url, Key: StaticKey(testKey), HTTPClient: NewHTTPClient()})
		_, err := g.Complete(bg(t), chatRequest())
		pe := mustError(t, err, KindNetwork)
		if pe.Message != "network error" {
			t.Errorf("message %q", pe.Message)
		}
		// *url.Error would print the URL; the chain must not.
		assertNoLeak(t, err, testKey, url, "generateContent")
	})
	t.Run("no key", func(t *testing.T) {
		f := newFake(t, reply{status: 200, body: geminiOK})
		g := NewGemini(GeminiConfig{BaseURL: f.URL, HTTPClient: f.Client()})
		_, err := g.Complete(bg(t), chatRequest())
		mustError(t, err, KindAuth)
		if len(f.requests()) != 0 {
			t.Error("no request should be sent without a key")
		}
	})
	t.Run("key with newline refused", func(t *testing.T) {
		f := newFake(t, reply{status: 200, body: geminiOK})
		g := NewGemini(GeminiConfig{BaseURL: f.URL, Key: StaticKey(testKey + "\r\nX-Evil: 1"), HTTPClient: f.Client()})
		_, err := g.Complete(bg(t), chatRequest())
		mustError(t, err, KindAuth)
		assertNoLeak(t, err, testKey)
	})
}

func TestGeminiBaseURLForms(t *testing.T) {
	f := newFake(t, reply{status: 200, body: geminiOK})
	for _, base := range []string{f.URL, f.URL + "/", f.URL + "/v1beta", f.URL + "/v1beta/"} {
		g := NewGemini(GeminiConfig{BaseURL: base, Key: StaticKey(testKey), HTTPClient: f.Client()})
		if _, err := g.Complete(bg(t), chatRequest()); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if p := f.last(t).Path; p != "/v1beta/models/gemini-2.5-flash-lite:generateContent" {
			t.Errorf("%s: path %s", base, p)
		}
	}
	g := NewGemini(GeminiConfig{BaseURL: "http://bad host/?key=" + testKey, Key: StaticKey(testKey)})
	_, err := g.Complete(bg(t), chatRequest())
	pe := mustError(t, err, KindNetwork)
	if pe.Message != "invalid provider URL" {
		t.Errorf("message %q", pe.Message)
	}
	assertNoLeak(t, err, testKey, "bad host")
}
