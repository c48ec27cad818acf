package providers

import (
	"cmp"
	"errors"
	"io"
	"strings"
	"testing"
)

// The composed stream of providers.md §1.5, byte for byte: CRLF framing,
// finishReason on the last content chunk, no [DONE].
const geminiSection15 = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Te\"}],\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\r\n\r\n" +
	"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"al.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":3,\"totalTokenCount\":12},\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r1\"}\r\n\r\n"

func TestGeminiStreamRequest(t *testing.T) {
	f := newSSEFake(t, sseScript{steps: []sseStep{raw(geminiSection15)}})
	g := NewGemini(GeminiConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client()})
	s, err := g.WithModel("gemini-2.5-flash").(Streamer).Stream(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := drain(t, s)
	if !errors.Is(err, io.EOF) || len(chunks) != 2 {
		t.Fatalf("chunks %+v err %v", chunks, err)
	}
	last := chunks[1]
	if chunks[0].Text != "Te" || last.Text != "al." || last.FinishReason != "stop" || last.Model != "gemini-2.5-flash" ||
		last.Usage == nil || *last.Usage != (Usage{9, 3, 12, true}) {
		t.Errorf("chunks = %+v / %+v", chunks[0], last)
	}
	r := f.last(t)
	if r.Path != "/v1beta/models/gemini-2.5-flash:streamGenerateContent" || r.RawQuery != "alt=sse" {
		t.Errorf("got %s?%s", r.Path, r.RawQuery)
	}
	if r.Header.Get("x-goog-api-key") != testKey || strings.Contains(r.RawQuery, "key=") {
		t.Error("key must go in the header only")
	}
	body := r.jsonBody(t)
	if _, ok := body["systemInstruction"]; !ok {
		t.Error("stream request must be built like generateContent's")
	}
}

func TestGeminiStreamVariants(t *testing.T) {
	ev := func(body string) string { return geminiEvent("\r\n", body) }
	tests := []struct {
		name     string
		events   string
		wantText string
		wantErr  Kind
		wantCode string
		finish   string
	}{
		{"data: error form", ev(`{"candidates":[{"content":{"parts":[{"text":"Te"}]}}]}`) + ev(`{"error":{"code":500,"message":"Internal error encountered.","status":"INTERNAL"}}`),
			"Te", KindBody, "INTERNAL", ""},
		{"thought parts are not text", ev(`{"candidates":[{"content":{"parts":[{"text":"thinking about teal","thought":true},{"text":"Teal."}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":3,"thoughtsTokenCount":5,"totalTokenCount":17}}`),
			"Teal.", "", "", "stop"},
		{"max tokens", ev(`{"candidates":[{"content":{"parts":[{"text":"Te"}]},"finishReason":"MAX_TOKENS"}]}`), "Te", "", "", "length"},
		{"usage-only chunk after finish", ev(`{"candidates":[{"content":{"parts":[{"text":"Te"}]},"finishReason":"STOP"}]}`) + ev(`{"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":1,"totalTokenCount":10}}`),
			"Te", "", "", "stop"},
		{"safety stop after content", ev(`{"candidates":[{"content":{"parts":[{"text":"Te"}]}}]}`) + ev(`{"candidates":[{"finishReason":"RECITATION"}]}`),
			"Te", KindSafety, "RECITATION", ""},
		{"non-error bare JSON line", ev(`{"candidates":[{"content":{"parts":[{"text":"Te"}]}}]}`) + `{"candidates":[]}` + "\r\n",
			"Te", KindMalformed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSSEFake(t, sseScript{steps: []sseStep{raw(tt.events)}})
			s, err := NewGemini(GeminiConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client()}).Stream(bg(t), chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			chunks, err := drain(t, s)
			var text strings.Builder
			finish := ""
			for _, c := range chunks {
				text.WriteString(c.Text)
				finish = cmp.Or(c.FinishReason, finish)
			}
			if text.String() != tt.wantText || finish != tt.finish {
				t.Errorf("text %q finish %q, want %q %q", text.String(), finish, tt.wantText, tt.finish)
			}
			if tt.wantErr == "" {
				if !errors.Is(err, io.EOF) {
					t.Fatalf("end = %v", err)
				}
				return
			}
			if pe := mustError(t, err, tt.wantErr); pe.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", pe.Code, tt.wantCode)
			}
			assertNoLeak(t, err, testKey, "Internal error encountered")
		})
	}
}
