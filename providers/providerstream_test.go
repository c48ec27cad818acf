package providers

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// streamWire is one provider's streaming wire format, as its fakes speak it:
// the same failure table runs against every one of them.
type streamWire struct {
	name        string
	newProvider func(f *sseFake) interface {
		Provider
		Streamer
	}
	start      string              // opening events before any content
	content    func(string) string // one event carrying a text delta
	finish     string              // finish reason and usage
	terminator string              // "" when EOF itself ends the stream (Gemini)
	errorEvent string              // the provider's error after the stream has started
	malformed  string
	httpError  sseScript // a 429 with the provider's retry hint
	wantUsage  Usage
	wantModel  string
	wantCode   string // Error.Code of errorEvent
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func groqChunk(body string) string {
	return `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764240000,"model":"openai/gpt-oss-20b","system_fingerprint":"fp_1",` + body + "}\n\n"
}

func openRouterChunk(body string) string {
	return `data: {"id":"gen-1764240000-AbCd","provider":"Groq","object":"chat.completion.chunk","created":1764240000,"model":"openai/gpt-oss-20b:free",` + body + "}\n\n"
}

const orComment = ": OPENROUTER PROCESSING\n\n"

func geminiEvent(sep, body string) string { return "data: " + body + sep + sep }

func geminiTextEvent(sep string) func(string) string {
	return func(text string) string {
		return geminiEvent(sep, `{"candidates":[{"content":{"parts":[{"text":`+jsonString(text)+`}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash-lite","responseId":"r1"}`)
	}
}

func geminiFinish(sep string) string {
	return geminiEvent(sep, `{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":3,"totalTokenCount":12},"modelVersion":"gemini-2.5-flash-lite","responseId":"r1"}`)
}

func anthEv(name, data string) string { return "event: " + name + "\ndata: " + data + "\n\n" }

var anthropicStart = anthEv("message_start", `{"type":"message_start","message":{"id":"msg_01","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":21,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`) +
	anthEv("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`) +
	anthEv("ping", `{"type": "ping"}`)

func anthropicDelta(text string) string {
	return anthEv("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+jsonString(text)+`}}`)
}

const anthropicFinishEvents = "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}\n\n"

func streamWires() []streamWire {
	groq := streamWire{
		name: "groq",
		newProvider: func(f *sseFake) interface {
			Provider
			Streamer
		} {
			return NewGroq(OpenAIConfig{BaseURL: f.URL + "/openai/v1", Key: StaticKey(testKey), HTTPClient: f.Client()})
		},
		start: groqChunk(`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null,"x_groq":{"id":"req_01"}`) +
			// gpt-oss streams its reasoning first: bytes, but no content.
			groqChunk(`"choices":[{"index":0,"delta":{"reasoning":"The user wants a colour."},"logprobs":null,"finish_reason":null}],"usage":null`),
		content: func(s string) string {
			return groqChunk(`"choices":[{"index":0,"delta":{"content":` + jsonString(s) + `},"logprobs":null,"finish_reason":null}],"usage":null`)
		},
		finish: groqChunk(`"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null,"x_groq":{"id":"req_01","usage":{"queue_time":0.01,"prompt_tokens":21,"completion_tokens":3,"total_tokens":24}}`) +
			groqChunk(`"choices":[],"usage":{"prompt_tokens":21,"completion_tokens":3,"total_tokens":24}`),
		terminator: "data: [DONE]\n\n",
		errorEvent: "event: error\ndata: {\"error\":{\"message\":\"Service Unavailable\",\"type\":\"internal_server_error\",\"code\":\"service_unavailable\"}}\n\n",
		malformed:  "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":\n\n",
		httpError: sseScript{status: 429, header: map[string]string{"retry-after": "7"},
			body: `{"error":{"message":"Rate limit reached for model openai/gpt-oss-20b","type":"tokens","code":"rate_limit_exceeded"}}`},
		wantUsage: Usage{21, 3, 24, true},
		wantModel: "openai/gpt-oss-20b",
		wantCode:  "service_unavailable",
	}
	openrouter := streamWire{
		name: "openrouter",
		newProvider: func(f *sseFake) interface {
			Provider
			Streamer
		} {
			return NewOpenRouter(OpenAIConfig{BaseURL: f.URL + "/api/v1", Key: StaticKey(testKey), HTTPClient: f.Client()})
		},
		start: orComment + orComment +
			openRouterChunk(`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"native_finish_reason":null}]`),
		content: func(s string) string {
			return orComment + openRouterChunk(`"choices":[{"index":0,"delta":{"role":"assistant","content":`+jsonString(s)+`},"finish_reason":null,"native_finish_reason":null}]`)
		},
		finish:     openRouterChunk(`"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop","native_finish_reason":"stop"}],"usage":{"prompt_tokens":21,"completion_tokens":3,"total_tokens":24,"cost":0,"is_byok":false}`),
		terminator: "data: [DONE]\n\n",
		// §2.6: a normal-looking chunk with a top-level error and a
		// terminating choice, HTTP still 200.
		errorEvent: openRouterChunk(`"error":{"code":"server_error","message":"Provider disconnected"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error","native_finish_reason":"error"}]`),
		malformed:  "data: not json at all\n\n",
		httpError: sseScript{status: 429, header: map[string]string{"Retry-After": "7"},
			body: `{"error":{"code":429,"message":"Rate limit exceeded: free-models-per-min.","metadata":{"headers":{"X-RateLimit-Limit":"20"}}}}`},
		wantUsage: Usage{21, 3, 24, true},
		wantModel: "openai/gpt-oss-20b:free",
		wantCode:  "server_error",
	}
	gemini := func(name, sep string) streamWire {
		return streamWire{
			name: name,
			newProvider: func(f *sseFake) interface {
				Provider
				Streamer
			} {
				return NewGemini(GeminiConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client()})
			},
			start:      "",
			content:    geminiTextEvent(sep),
			finish:     geminiFinish(sep),
			terminator: "",
			// go-genai's own test shape: a bare error object, HTTP 200.
			errorEvent: `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}` + sep,
			malformed:  geminiEvent(sep, `{"candidates":[{"content":{"parts":[{"text":"Te`),
			httpError: sseScript{status: 429, body: `{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED",
  "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"7s"}]}}`},
			wantUsage: Usage{9, 3, 12, true},
			wantModel: "gemini-2.5-flash-lite",
			wantCode:  "UNAVAILABLE",
		}
	}
	anthropic := streamWire{
		name: "anthropic",
		newProvider: func(f *sseFake) interface {
			Provider
			Streamer
		} {
			return NewAnthropic(AnthropicConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client()})
		},
		start:      anthropicStart,
		content:    anthropicDelta,
		finish:     anthropicFinishEvents,
		terminator: anthEv("message_stop", `{"type":"message_stop"}`),
		errorEvent: anthEv("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`),
		malformed:  anthEv("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Te`),
		httpError: sseScript{status: 429, header: map[string]string{"retry-after": "7", "request-id": "req_01"},
			body: `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_01"}`},
		wantUsage: Usage{21, 3, 24, true},
		wantModel: "claude-haiku-4-5-20251001",
		wantCode:  "overloaded_error",
	}
	return []streamWire{groq, openrouter, gemini("gemini CRLF", "\r\n"), gemini("gemini LF", "\n"), anthropic}
}

// TestProviderStreamClean: chunks arrive one by one (the fake holds the rest
// back until the first is read), with text, finish reason, usage and model.
func TestProviderStreamClean(t *testing.T) {
	for _, w := range streamWires() {
		t.Run(w.name, func(t *testing.T) {
			f := newSSEFake(t, sseScript{steps: []sseStep{raw(w.start, w.content("Te")), gate, raw(w.content("al.")), raw(w.finish, w.terminator)}})
			p := w.newProvider(f)
			s, err := p.Stream(bg(t), chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			first := make(chan Chunk, 1)
			go func() {
				ch, _ := s.Next()
				first <- ch
			}()
			select {
			case ch := <-first:
				if ch.Text != "Te" {
					t.Fatalf("first chunk = %+v", ch)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("first chunk did not arrive before the rest of the stream")
			}
			f.release()
			rest, err := drain(t, s)
			if !errors.Is(err, io.EOF) {
				t.Fatalf("end = %v, want io.EOF", err)
			}
			var text strings.Builder
			var finish string
			var usage *Usage
			text.WriteString("Te")
			for _, ch := range rest {
				text.WriteString(ch.Text)
				if ch.FinishReason != "" {
					finish = ch.FinishReason
				}
				if ch.Usage != nil {
					usage = ch.Usage
				}
				if ch.Model != w.wantModel {
					t.Errorf("chunk model = %q, want %q", ch.Model, w.wantModel)
				}
			}
			if text.String() != "Teal." || finish != "stop" {
				t.Errorf("text %q finish %q", text.String(), finish)
			}
			if usage == nil || *usage != w.wantUsage {
				t.Errorf("usage = %+v, want %+v", usage, w.wantUsage)
			}
			if _, err := s.Next(); !errors.Is(err, io.EOF) {
				t.Errorf("Next after end = %v", err)
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
			req := f.last(t)
			if strings.Contains(req.RawQuery, testKey) || strings.Contains(req.Path, testKey) {
				t.Error("key in URL")
			}
			if req.Header.Get("Accept") != "text/event-stream" {
				t.Errorf("Accept = %q", req.Header.Get("Accept"))
			}
		})
	}
}

// TestProviderStreamFailures: every way a stream fails, before and after the
// first content, is a classified *Error from Stream or Next, never io.EOF.
func TestProviderStreamFailures(t *testing.T) {
	type tc struct {
		name        string
		script      func(w streamWire) sseScript
		wantText    string // content delivered before the failure
		wantKind    Kind
		wantMessage string
		atOpen      bool // Stream itself fails
	}
	cases := []tc{
		{name: "HTTP error before stream", atOpen: true, wantKind: KindStatus,
			script: func(w streamWire) sseScript { return w.httpError }},
		{name: "error event before content", wantKind: KindBody,
			script: func(w streamWire) sseScript { return sseScript{steps: []sseStep{raw(w.start, w.errorEvent)}} }},
		{name: "error event after content", wantText: "Te", wantKind: KindBody,
			script: func(w streamWire) sseScript {
				return sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.errorEvent)}}
			}},
		{name: "cut before content", wantKind: KindNetwork, wantMessage: msgInterrupted,
			script: func(w streamWire) sseScript { return sseScript{steps: []sseStep{raw(w.start, ": x\n"), cut}} }},
		{name: "cut after content", wantText: "Te", wantKind: KindNetwork, wantMessage: msgInterrupted,
			script: func(w streamWire) sseScript {
				return sseScript{steps: []sseStep{raw(w.start, w.content("Te")), cut}}
			}},
		{name: "cut mid-event", wantText: "Te", wantKind: KindNetwork, wantMessage: msgInterrupted,
			script: func(w streamWire) sseScript {
				c := w.content("al.")
				return sseScript{steps: []sseStep{raw(w.start, w.content("Te"), c[:len(c)/2]), cut}}
			}},
		{name: "malformed chunk", wantKind: KindMalformed, wantMessage: "malformed stream chunk",
			script: func(w streamWire) sseScript { return sseScript{steps: []sseStep{raw(w.start, w.malformed)}} }},
		{name: "missing terminator", wantText: "Te", wantKind: KindMalformed, wantMessage: msgNoTerminator,
			script: func(w streamWire) sseScript {
				if w.terminator == "" {
					// Gemini: EOF before any finishReason.
					return sseScript{steps: []sseStep{raw(w.start, w.content("Te"))}}
				}
				return sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.finish)}}
			}},
		{name: "empty 200 body", wantKind: KindMalformed, wantMessage: msgNoTerminator,
			script: func(w streamWire) sseScript { return sseScript{} }},
	}
	for _, w := range streamWires() {
		for _, c := range cases {
			t.Run(w.name+"/"+c.name, func(t *testing.T) {
				f := newSSEFake(t, c.script(w))
				s, err := w.newProvider(f).Stream(bg(t), chatRequest())
				if c.atOpen {
					if s != nil {
						s.Close()
					}
					pe := mustError(t, err, c.wantKind)
					if pe.Status != 429 || pe.RetryAfter != 7*time.Second {
						t.Errorf("status %d retry %v", pe.Status, pe.RetryAfter)
					}
					assertNoLeak(t, err, testKey, "Rate limit", "Resource has been exhausted", "per-minute")
					return
				}
				if err != nil {
					t.Fatalf("Stream: %v", err)
				}
				defer s.Close()
				chunks, err := drain(t, s)
				var text strings.Builder
				for _, ch := range chunks {
					text.WriteString(ch.Text)
				}
				if text.String() != c.wantText {
					t.Errorf("text before failure = %q, want %q", text.String(), c.wantText)
				}
				pe := mustError(t, err, c.wantKind)
				if c.wantMessage != "" && pe.Message != c.wantMessage {
					t.Errorf("message = %q, want %q", pe.Message, c.wantMessage)
				}
				if c.wantKind == KindBody && pe.Code != w.wantCode {
					t.Errorf("code = %q, want %q", pe.Code, w.wantCode)
				}
				assertNoLeak(t, err, testKey, "overloaded.", "Provider disconnected", "Overloaded", "Service Unavailable")
				// The error is sticky and the connection released.
				if _, again := s.Next(); again == nil || errors.Is(again, io.EOF) {
					t.Errorf("Next after failure = %v", again)
				}
			})
		}
	}
}

// Streaming safety stops: each provider's own way of refusing.
func TestProviderStreamSafety(t *testing.T) {
	tests := []struct {
		name   string
		wire   int // index into streamWires
		events string
		cats   []string
	}{
		{"gemini blocked prompt", 2, geminiEvent("\r\n", `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9},"modelVersion":"gemini-2.5-flash-lite"}`),
			[]string{"dangerous_content"}},
		{"gemini safety finish", 2, geminiEvent("\r\n", `{"candidates":[{"finishReason":"SAFETY","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"HIGH","blocked":true}]}]}`),
			[]string{"harassment"}},
		{"openai content_filter before content", 0, groqChunk(`"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]`) + "data: [DONE]\n\n",
			[]string{"content_filter"}},
		{"anthropic refusal", 4, anthropicStart + anthEv("message_delta", `{"type":"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null},"usage":{"output_tokens":0}}`) + anthEv("message_stop", `{"type":"message_stop"}`),
			[]string{"refusal"}},
	}
	wires := streamWires()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSSEFake(t, sseScript{steps: []sseStep{raw(tt.events)}})
			s, err := wires[tt.wire].newProvider(f).Stream(bg(t), chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			_, err = drain(t, s)
			pe := mustError(t, err, KindSafety)
			if !errors.Is(err, ErrSafetyBlocked) || strings.Join(pe.Categories, ",") != strings.Join(tt.cats, ",") {
				t.Errorf("categories %v, want %v", pe.Categories, tt.cats)
			}
		})
	}
}

// A compatible server that ignores stream:true and answers plain JSON is
// replayed as one chunk rather than failing as a malformed stream.
func TestProviderStreamPlainJSONAnswer(t *testing.T) {
	f := newSSEFake(t, sseScript{header: map[string]string{"Content-Type": "application/json"},
		steps: []sseStep{raw(groqOK)}})
	s, err := NewGroq(OpenAIConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client()}).Stream(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	chunks, err := drain(t, s)
	if !errors.Is(err, io.EOF) || len(chunks) != 1 || chunks[0].Text != "Teal." || chunks[0].Usage.TotalTokens != 24 {
		t.Fatalf("chunks %+v err %v", chunks, err)
	}
}

// Per-event size cap: an endless event fails as malformed instead of growing.
func TestProviderStreamEventCap(t *testing.T) {
	big := "data: {\"x\":\"" + strings.Repeat("a", 4096) + "\"}\n\n"
	f := newSSEFake(t, sseScript{steps: []sseStep{raw(big)}})
	g := NewGroq(OpenAIConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client(), MaxBodyBytes: 1024})
	s, err := g.Stream(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = drain(t, s)
	if pe := mustError(t, err, KindMalformed); pe.Message != msgTooLarge {
		t.Errorf("message = %q", pe.Message)
	}
}

func TestProviderStreamCloseTwiceAndEarly(t *testing.T) {
	for _, w := range streamWires() {
		t.Run(w.name, func(t *testing.T) {
			f := newSSEFake(t, sseScript{steps: []sseStep{raw(w.start, w.content("Te")), hang}})
			s, err := w.newProvider(f).Stream(bg(t), chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			if ch, err := s.Next(); err != nil || ch.Text != "Te" {
				t.Fatalf("%+v %v", ch, err)
			}
			s.Close()
			s.Close()
			select {
			case <-f.gone:
			case <-time.After(5 * time.Second):
				t.Fatal("upstream did not see the client go away after Close")
			}
			if _, err := s.Next(); err == nil || errors.Is(err, io.EOF) {
				t.Errorf("Next after Close = %v, want an error", err)
			}
		})
	}
}

// A clean end hands the connection back to the pool (no new TLS handshake
// for the next request), and an upstream that lingers after its terminator
// does not hold the caller.
func TestProviderStreamConnectionReuse(t *testing.T) {
	for _, w := range streamWires() {
		t.Run(w.name, func(t *testing.T) {
			// The response's end arrives a moment after the terminator, as
			// it may over a real network.
			clean := sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.finish, w.terminator), {sleep: 5 * time.Millisecond}}}
			f := newSSEFake(t, clean, clean, clean)
			p := w.newProvider(f)
			for range 3 {
				s, err := p.Stream(bg(t), chatRequest())
				if err != nil {
					t.Fatal(err)
				}
				if _, err := drain(t, s); !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				s.Close()
			}
			if n := f.conns.Load(); n != 1 {
				t.Errorf("%d connections for 3 sequential streams, want 1", n)
			}
			if w.terminator == "" {
				return // Gemini: EOF is the terminator, nothing can linger
			}
			f = newSSEFake(t, sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.finish, w.terminator), hang}})
			s, err := w.newProvider(f).Stream(bg(t), chatRequest())
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := drain(t, s); !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("lingering upstream held the end for %v", d)
			}
			select {
			case <-f.gone:
			case <-time.After(2 * time.Second):
				t.Error("lingering upstream connection not closed")
			}
		})
	}
}
