package providers

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestNewOpenAIDefaults(t *testing.T) {
	f := newFake(t, reply{status: 200, body: groqOK})
	o := NewOpenAI(OpenAIConfig{BaseURL: f.URL + "/v1", Key: StaticKey(testKey), HTTPClient: f.Client()})
	if o.Name() != "openai" || o.Model() != DefaultOpenAIModel {
		t.Errorf("name/model = %s/%s", o.Name(), o.Model())
	}
	if _, err := o.Complete(bg(t), chatRequest()); err != nil {
		t.Fatal(err)
	}
	r := f.last(t)
	body := r.jsonBody(t)
	if r.Path != "/v1/chat/completions" || body["max_completion_tokens"] != 64.0 || body["max_tokens"] != nil {
		t.Errorf("path %s body %v", r.Path, body)
	}
	if _, ok := body["reasoning_effort"]; ok {
		t.Error("gpt-4o-mini is not a reasoning model: no reasoning_effort")
	}
	if r.Header.Get("Authorization") != "Bearer "+testKey {
		t.Error("no bearer key")
	}
	def := NewOpenAI(OpenAIConfig{})
	if def.endpoint != DefaultOpenAIBaseURL+"/chat/completions" {
		t.Errorf("default endpoint %s", def.endpoint)
	}
	var _ ModelSwitcher = def
	var _ Streamer = def
}

func TestOpenAIStreamRequestBody(t *testing.T) {
	f := newSSEFake(t, groqStreamOK())
	o := newTestOpenRouterSSE(f, map[string]string{"Authorization": "Bearer stolen", "Accept": "text/html", "X-Extra": "1"})
	s, err := o.Stream(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	drain(t, s)
	s.Close()
	r := f.last(t)
	got := r.jsonBody(t)
	want := map[string]any{
		"model": DefaultOpenRouterModel,
		"messages": []any{
			map[string]any{"role": "system", "content": "You are terse."},
			map[string]any{"role": "user", "content": "Hi"},
			map[string]any{"role": "assistant", "content": "Hello."},
			map[string]any{"role": "user", "content": "Name a colour."},
		},
		"max_tokens":       64.0,
		"temperature":      0.7,
		"top_p":            0.95,
		"stop":             []any{"\n\n"},
		"user":             "end-user-1",
		"reasoning_effort": "low",
		"stream":           true,
		"stream_options":   map[string]any{"include_usage": true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body =\n%v\nwant\n%v", got, want)
	}
	if r.Header.Get("Authorization") != "Bearer "+testKey || r.Header.Get("Accept") != "text/event-stream" || r.Header.Get("X-Extra") != "1" {
		t.Errorf("headers %v", r.Header)
	}
	if r.Header.Get("HTTP-Referer") == "" {
		t.Error("OpenRouter attribution missing on streams")
	}
}

func newTestOpenRouterSSE(f *sseFake, h map[string]string) *OpenAICompatible {
	return NewOpenRouter(OpenAIConfig{BaseURL: f.URL + "/api/v1", Key: StaticKey(testKey), HTTPClient: f.Client(), Headers: h})
}

// Stream shapes specific to one OpenAI-compatible upstream.
func TestOpenAIStreamVariants(t *testing.T) {
	g := streamWires()[0]
	tests := []struct {
		name     string
		events   string
		wantText string
		wantErr  Kind // "" = clean end
		wantCode string
		finish   string
	}{
		{"OpenAI mid-stream data error", g.start + g.content("Te") + `data: {"error":{"message":"The server had an error","type":"server_error","param":null,"code":null}}` + "\n\n",
			"Te", KindBody, "server_error", ""},
		{"Groq x_groq.error", g.start + g.content("Te") + groqChunk(`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req_01","error":"upstream model crashed: prompt was ..."}`) + "data: [DONE]\n\n",
			"Te", KindBody, "", ""},
		{"OpenRouter error chunk then [DONE]", g.start + g.content("Te") + openRouterChunk(`"error":{"code":502,"message":"Provider returned error"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]`) + "data: [DONE]\n\n",
			"Te", KindBody, "", ""},
		{"choice-level error", g.start + g.content("Te") + groqChunk(`"choices":[{"index":0,"delta":{},"finish_reason":"error","error":{"code":"server_error"}}]`),
			"Te", KindBody, "server_error", ""},
		{"event: error without JSON", g.start + "event: error\ndata: internal\n\n", "", KindBody, "", ""},
		{"refusal delta is the answer", g.start + groqChunk(`"choices":[{"index":0,"delta":{"refusal":"I can't help with that."},"finish_reason":null}]`) + groqChunk(`"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]`) + "data: [DONE]\n\n",
			"I can't help with that.", "", "", "stop"},
		{"content_filter after content passes through", g.start + g.content("Te") + groqChunk(`"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]`) + "data: [DONE]\n\n",
			"Te", "", "", "content_filter"},
		{"content as text parts", g.start + groqChunk(`"choices":[{"index":0,"delta":{"content":[{"type":"text","text":"Te"},{"type":"image_url"},{"type":"text","text":"al."}]},"finish_reason":"length"}]`) + "data: [DONE]\n\n",
			"Teal.", "", "", "length"},
		{"events after [DONE] ignored", g.start + g.content("Te") + "data: [DONE]\n\n" + g.errorEvent, "Te", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSSEFake(t, sseScript{steps: []sseStep{raw(tt.events)}})
			s, err := groqOn(f).Stream(bg(t), chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			chunks, err := drain(t, s)
			var text strings.Builder
			finish := ""
			for _, c := range chunks {
				text.WriteString(c.Text)
				if c.FinishReason != "" {
					finish = c.FinishReason
				}
			}
			if text.String() != tt.wantText || finish != tt.finish {
				t.Errorf("text %q finish %q, want %q %q", text.String(), finish, tt.wantText, tt.finish)
			}
			if tt.wantErr == "" {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("end = %v, want EOF", err)
				}
				return
			}
			pe := mustError(t, err, tt.wantErr)
			if pe.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", pe.Code, tt.wantCode)
			}
			assertNoLeak(t, err, testKey, "crashed", "prompt was", "The server had", "Provider returned", "internal")
		})
	}
}
