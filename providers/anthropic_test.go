package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"testing"
	"time"
)

const anthropicOK = `{
  "id": "msg_01AbC", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
  "content": [{"type": "thinking", "thinking": "colour?", "signature": "sig"}, {"type": "text", "text": "Teal"}, {"type": "text", "text": "."}],
  "stop_reason": "end_turn", "stop_sequence": null,
  "usage": {"input_tokens": 21, "output_tokens": 4, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2}
}`

func newTestAnthropic(f *fake) *Anthropic {
	return NewAnthropic(AnthropicConfig{BaseURL: f.URL + "/", Key: StaticKey(testKey), HTTPClient: f.Client()})
}

func TestAnthropicRequestWireFormat(t *testing.T) {
	f := newFake(t, reply{status: 200, body: anthropicOK})
	a := newTestAnthropic(f)
	if a.Name() != "anthropic" || a.Model() != DefaultAnthropicModel {
		t.Errorf("name/model = %s/%s", a.Name(), a.Model())
	}
	req := chatRequest()
	req.Temperature = ptr(1.6)
	req.Stop = []string{"\n\n", "END"}
	req.Messages = append(req.Messages, Message{Role: "user", Content: "Quickly."})
	resp, err := a.Complete(bg(t), req)
	if err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.Method != http.MethodPost || r.Path != "/v1/messages" || r.RawQuery != "" {
		t.Errorf("got %s %s?%s", r.Method, r.Path, r.RawQuery)
	}
	for h, want := range map[string]string{"x-api-key": testKey, "anthropic-version": "2023-06-01", "Content-Type": "application/json", "Authorization": ""} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	want := map[string]any{
		"model":      DefaultAnthropicModel,
		"max_tokens": 64.0,
		"system":     "You are terse.",
		"messages": []any{
			map[string]any{"role": "user", "content": "Hi"},
			map[string]any{"role": "assistant", "content": "Hello."},
			// consecutive user turns merged
			map[string]any{"role": "user", "content": "Name a colour.\n\nQuickly."},
		},
		"temperature":    1.0, // clamped to Anthropic's range; top_p then omitted
		"stop_sequences": []any{"END"},
		"metadata":       map[string]any{"user_id": "end-user-1"},
	}
	if got := r.jsonBody(t); !reflect.DeepEqual(got, want) {
		t.Errorf("body =\n%v\nwant\n%v", got, want)
	}
	wantResp := &Response{Text: "Teal.", Model: "claude-haiku-4-5-20251001", FinishReason: "stop", Usage: Usage{23, 4, 27, true}}
	if !reflect.DeepEqual(resp, wantResp) {
		t.Errorf("resp = %+v, want %+v", resp, wantResp)
	}
}

func TestAnthropicRequestDefaults(t *testing.T) {
	f := newFake(t, reply{status: 200, body: anthropicOK})
	a := NewAnthropic(AnthropicConfig{BaseURL: f.URL + "/v1", Key: StaticKey(testKey), HTTPClient: f.Client(), Version: "2024-01-01", Model: "claude-x"})
	if _, err := a.Complete(bg(t), Request{Messages: []Message{{Role: "system", Content: "Only a system prompt."}}, TopP: ptr(0.9)}); err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	if r.Path != "/v1/messages" || r.Header.Get("anthropic-version") != "2024-01-01" {
		t.Errorf("path %s version %s", r.Path, r.Header.Get("anthropic-version"))
	}
	want := map[string]any{
		"model":      "claude-x",
		"max_tokens": float64(DefaultAnthropicMaxTokens),
		"messages":   []any{map[string]any{"role": "user", "content": "Only a system prompt."}},
		"top_p":      0.9,
	}
	if got := r.jsonBody(t); !reflect.DeepEqual(got, want) {
		t.Errorf("body = %v, want %v", got, want)
	}
	m := a.WithModel("claude-y")
	if m.Model() != "claude-y" || a.Model() != "claude-x" {
		t.Error("WithModel must copy")
	}
	if _, err := m.Complete(bg(t), chatRequest()); err != nil {
		t.Fatal(err)
	}
	if got := f.last(t).jsonBody(t)["model"]; got != "claude-y" {
		t.Errorf("model sent = %v", got)
	}
	var _ ModelSwitcher = a
	var _ Streamer = a
}

func TestAnthropicOutcomes(t *testing.T) {
	errBody := func(typ string) string {
		return `{"type":"error","error":{"type":"` + typ + `","message":"secret detail about the prompt"},"request_id":"req_011"}`
	}
	tests := []struct {
		name      string
		reply     reply
		wantKind  Kind
		wantCode  string
		wantRetry time.Duration
		wantMsg   string
		wantCats  []string
	}{
		{"401", reply{status: 401, body: errBody("authentication_error")}, KindAuth, "authentication_error", 0, "HTTP 401 from provider (authentication_error)", nil},
		{"403", reply{status: 403, body: errBody("permission_error")}, KindAuth, "permission_error", 0, "HTTP 403 from provider (permission_error)", nil},
		{"429 retry-after", reply{status: 429, header: map[string]string{"retry-after": "12"}, body: errBody("rate_limit_error")}, KindStatus, "rate_limit_error", 12 * time.Second, "HTTP 429 from provider (rate_limit_error)", nil},
		{"529 overloaded", reply{status: 529, body: errBody("overloaded_error")}, KindStatus, "overloaded_error", 0, "HTTP 529 from provider (overloaded_error)", nil},
		{"400", reply{status: 400, body: errBody("invalid_request_error")}, KindStatus, "invalid_request_error", 0, "", nil},
		{"413 from Cloudflare, not JSON", reply{status: 413, body: "<html>Request Entity Too Large</html>"}, KindStatus, "", 0, "HTTP 413 from provider", nil},
		{"error with 200", reply{status: 200, body: errBody("api_error")}, KindBody, "api_error", 0, "error in response body", nil},
		{"refusal", reply{status: 200, body: `{"type":"message","content":[],"stop_reason":"refusal","usage":{"input_tokens":5,"output_tokens":0}}`}, KindSafety, "refusal", 0, ErrSafetyBlocked.Error(), []string{"refusal"}},
		{"max_tokens empty", reply{status: 200, body: `{"type":"message","content":[{"type":"thinking","thinking":"hmm"}],"stop_reason":"max_tokens"}`}, KindEmpty, "max_tokens", 0, "empty response (max tokens reached)", nil},
		{"malformed", reply{status: 200, body: `{"type":"message","content":[`}, KindMalformed, "", 0, "malformed response", nil},
		{"hang", reply{hang: true}, KindTimeout, "", 0, "timeout", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, tt.reply)
			ctx := bg(t)
			if tt.reply.hang {
				var cancel func()
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			_, err := newTestAnthropic(f).Complete(ctx, chatRequest())
			pe := mustError(t, err, tt.wantKind)
			if pe.Code != tt.wantCode || pe.RetryAfter != tt.wantRetry {
				t.Errorf("code %q retry %v, want %q %v", pe.Code, pe.RetryAfter, tt.wantCode, tt.wantRetry)
			}
			if tt.wantMsg != "" && pe.Message != tt.wantMsg {
				t.Errorf("message = %q, want %q", pe.Message, tt.wantMsg)
			}
			if !reflect.DeepEqual(pe.Categories, tt.wantCats) {
				t.Errorf("categories = %v", pe.Categories)
			}
			if tt.wantKind == KindSafety != errors.Is(err, ErrSafetyBlocked) {
				t.Error("ErrSafetyBlocked mismatch")
			}
			assertNoLeak(t, err, testKey, "secret detail", "Entity Too Large")
		})
	}
}

func TestAnthropicFinishMapping(t *testing.T) {
	for stop, want := range map[string]string{"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls", "pause_turn": "stop", "": "stop"} {
		if got := anthropicFinish(stop); got != want {
			t.Errorf("%q -> %q, want %q", stop, got, want)
		}
	}
}

func TestAnthropicStreamRequest(t *testing.T) {
	w := streamWires()[4]
	f := newSSEFake(t, sseScript{steps: []sseStep{raw(w.start, w.content("Hi"), w.finish, w.terminator)}})
	s, err := NewAnthropic(AnthropicConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client()}).Stream(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := drain(t, s); err == nil {
		t.Fatal("no end")
	}
	r := f.last(t)
	body := r.jsonBody(t)
	if body["stream"] != true || r.Path != "/v1/messages" || r.Header.Get("x-api-key") != testKey {
		t.Errorf("path %s stream %v", r.Path, body["stream"])
	}
}

// Thinking and tool deltas are not text; a text block may open with text.
func TestAnthropicStreamBlocks(t *testing.T) {
	events := anthEv("message_start", `{"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":7,"output_tokens":1}}}`) +
		anthEv("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}`) +
		anthEv("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`) +
		anthEv("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"abc"}}`) +
		anthEv("content_block_stop", `{"type":"content_block_stop","index":0}`) +
		anthEv("content_block_start", `{"type":"content_block_start","index":1,"content_block":{"type":"text","text":"Te"}}`) +
		anthEv("ping", `{"type":"ping"}`) +
		anthEv("content_block_delta", `{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"al."}}`) +
		anthEv("content_block_start", `{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}}`) +
		anthEv("content_block_delta", `{"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}`) +
		anthEv("message_delta", `{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"input_tokens":7,"output_tokens":9}}`) +
		anthEv("some_future_event", `{"type":"some_future_event"}`) +
		anthEv("message_stop", `{"type":"message_stop"}`)
	f := newSSEFake(t, sseScript{steps: []sseStep{raw(events)}})
	s, err := NewAnthropic(AnthropicConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client()}).Stream(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := drain(t, s)
	if !errors.Is(err, io.EOF) || len(chunks) != 3 {
		t.Fatalf("chunks %+v err %v", chunks, err)
	}
	if chunks[0].Text != "Te" || chunks[1].Text != "al." || chunks[2].FinishReason != "tool_calls" ||
		*chunks[2].Usage != (Usage{7, 9, 16, true}) || chunks[2].Model != "claude-x" {
		t.Errorf("chunks = %+v %+v %+v", chunks[0], chunks[1], chunks[2])
	}
}
