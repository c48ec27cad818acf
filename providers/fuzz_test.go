package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// fuzzAnswer is what the fuzz upstream sends next: one fuzz worker runs
// its inputs one after another, so a single slot is enough.
type fuzzAnswer struct {
	status      int
	contentType string
	body        []byte
}

// fuzzUpstream serves whatever answer the current input holds, over real
// HTTP, so that the providers' whole read path (status, headers, size cap,
// decoding) sees it.
func fuzzUpstream(f *testing.F) (*httptest.Server, *atomic.Pointer[fuzzAnswer]) {
	var cur atomic.Pointer[fuzzAnswer]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := cur.Load()
		w.Header().Set("Content-Type", a.contentType)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(a.status)
		w.Write(a.body)
	}))
	f.Cleanup(srv.Close)
	return srv, &cur
}

// fuzzProviders are one client per wire format, all pointed at srv.
func fuzzProviders(srv *httptest.Server) []Provider {
	c := srv.Client()
	return []Provider{
		NewGemini(GeminiConfig{BaseURL: srv.URL, Key: StaticKey(testKey), HTTPClient: c}),
		NewGroq(OpenAIConfig{BaseURL: srv.URL, Key: StaticKey(testKey), HTTPClient: c}),
		NewOpenRouter(OpenAIConfig{BaseURL: srv.URL, Key: StaticKey(testKey), HTTPClient: c}),
		NewAnthropic(AnthropicConfig{BaseURL: srv.URL, Key: StaticKey(testKey), HTTPClient: c}),
	}
}

var fuzzStatuses = []int{200, 200, 200, 400, 401, 403, 404, 408, 429, 500, 502, 503, 504, 201, 204, 302}

// checkFuzzError holds every provider failure to the contract: a classified
// *Error with a short, client-safe message that neither echoes the key nor
// quotes the upstream body.
func checkFuzzError(t *testing.T, p Provider, err error, body []byte) {
	t.Helper()
	pe, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("%s: error %v (%T) is not a *Error", p.Name(), err, err)
	}
	switch pe.Kind {
	case KindNetwork, KindTimeout, KindStatus, KindAuth, KindBody, KindMalformed, KindEmpty, KindSafety, KindCanceled:
	default:
		t.Fatalf("%s: unknown kind %q", p.Name(), pe.Kind)
	}
	msg := Reason(pe)
	if msg == "" || len(msg) > 200 || !utf8.ValidString(msg) {
		t.Fatalf("%s: reason %q", p.Name(), msg)
	}
	for _, s := range []string{pe.Error(), msg, pe.Code, strings.Join(pe.Categories, ",")} {
		if strings.Contains(s, testKey) {
			t.Fatalf("%s: error leaks the key: %q", p.Name(), s)
		}
		// The body may only show through the short enum-like code words.
		if len(body) >= 24 && strings.Contains(s, string(body)) {
			t.Fatalf("%s: error quotes the upstream body: %q", p.Name(), s)
		}
	}
	if pe.RetryAfter < 0 {
		t.Fatalf("%s: negative RetryAfter %v", p.Name(), pe.RetryAfter)
	}
}

// FuzzProviderAnswer feeds arbitrary upstream answers (any status, any
// body) to every wire format's non-streaming Complete.
func FuzzProviderAnswer(f *testing.F) {
	for _, body := range []string{
		geminiOK, gemini429, geminiBadKey, openRouterOK, groqUsage1000, benchText,
		`{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]}}`,
		`{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}]}`,
		`{"candidates":[{"finishReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_HATE_SPEECH","blocked":true}]}]}`,
		`[{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}]`,
		`{"error":{"message":"Rate limit reached","type":"tokens","code":"rate_limit_exceeded"}}`,
		`{"error":{"code":502,"message":"Provider returned error","metadata":{"raw":"x"}}}`,
		`{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"image_url"}]},"finish_reason":"content_filter"}]}`,
		`{"error":{"message":"flagged","code":403,"metadata":{"reasons":["violence/graphic"],"flagged_input":"x"}}}`,
		`{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"Teal."}],"stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":2}}`,
		`{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
		`{"choices":[]}`, `null`, `{}`, `[]`, ``, `{"choices":[{"message":{"content":null}}]}`,
		"\xff\xfe{\"candidates\":", `{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":-5,"completion_tokens":1,"total_tokens":-4}}`,
		`{"candidates":[{"content":{"parts":[{"text":"x"}]}}],"usageMetadata":{"promptTokenCount":-7,"candidatesTokenCount":-1}}`, `{"usage":{"prompt_tokens":-5,"completion_tokens":1e300}}`,
	} {
		for i, st := range []uint8{0, 3, 8, 9} {
			f.Add(st, uint8(i), []byte(body))
		}
	}
	srv, cur := fuzzUpstream(f)
	ps := fuzzProviders(srv)
	// One single-provider cascade per wire format, the way the gateway calls
	// them: its answer (usage, cost) and its steps are what clients see.
	cs := make([]*Cascade, len(ps))
	for i, p := range ps {
		cs[i] = NewCascade(CascadeConfig{Providers: []Provider{p}, CooldownAfter: -1})
	}
	f.Fuzz(func(t *testing.T, status, which uint8, body []byte) {
		st := fuzzStatuses[int(status)%len(fuzzStatuses)]
		cur.Store(&fuzzAnswer{status: st, contentType: "application/json", body: body})
		i := int(which) % len(ps)
		p := ps[i]
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := p.Complete(ctx, chatRequest())
		if err != nil {
			if resp != nil {
				t.Fatalf("%s: both an answer and an error", p.Name())
			}
			checkFuzzError(t, p, err, body)
		} else if resp == nil {
			t.Fatalf("%s: no answer and no error", p.Name())
		} else if st < 200 || st > 299 {
			t.Fatalf("%s: HTTP %d taken as an answer", p.Name(), st)
		}

		res, err := cs[i].Complete(ctx, chatRequest())
		if err != nil {
			ce, ok := errors.AsType[*CascadeError](err)
			if !ok || len(ce.Steps) == 0 {
				t.Fatalf("%s: cascade error %v", p.Name(), err)
			}
			for _, s := range ce.Steps {
				if s.Reason == nil || *s.Reason == "" || strings.Contains(*s.Reason, testKey) {
					t.Fatalf("%s: step %+v", p.Name(), s)
				}
			}
			return
		}
		u := res.Response.Usage
		if u.PromptTokens < 0 || u.CompletionTokens < 0 || u.TotalTokens < 0 {
			t.Fatalf("%s: negative usage %+v", p.Name(), u)
		}
		if c := res.CostUSD; c != nil && (*c < 0 || *c != *c) {
			t.Fatalf("%s: cost %v from usage %+v", p.Name(), *c, u)
		}
	})
}

// FuzzProviderStream feeds arbitrary server-sent event streams to every
// wire format's Stream and reads them to the end.
func FuzzProviderStream(f *testing.F) {
	for _, body := range []string{
		"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Te\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\ndata: [DONE]\n\n",
		"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Te\"}],\"role\":\"model\"}}]}\r\n\r\ndata: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"al.\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":3,\"candidatesTokenCount\":2,\"totalTokenCount\":5}}\r\n\r\n",
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Teal.\"}}\n\nevent: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		": OPENROUTER PROCESSING\n\ndata: {\"error\":{\"message\":\"upstream\",\"code\":502}}\n\n",
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
		"data: {\"candidates\":[{\"finishReason\":\"SAFETY\"}]}\n\n",
		"{\"error\":{\"code\":500,\"message\":\"internal\",\"status\":\"INTERNAL\"}}\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]\n\n", "data: [DONE]\n\n", "data:\n\n", ":\n\n", "\n\n\n", "",
		"data: " + strings.Repeat("a", 2000) + "\n", "event: x\nid: 1\nretry: 5\ndata: {}\n\n",
	} {
		for i := range 4 {
			f.Add(uint8(0), uint8(i), []byte(body))
		}
	}
	srv, cur := fuzzUpstream(f)
	ps := fuzzProviders(srv)
	f.Fuzz(func(t *testing.T, status, which uint8, body []byte) {
		st := fuzzStatuses[int(status)%len(fuzzStatuses)]
		cur.Store(&fuzzAnswer{status: st, contentType: "text/event-stream", body: body})
		p := ps[int(which)%len(ps)]
		sp, ok := p.(Streamer)
		if !ok {
			t.Skip("not a streamer")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := sp.Stream(ctx, chatRequest())
		if err != nil {
			checkFuzzError(t, p, err, body)
			return
		}
		defer s.Close()
		for i := 0; ; i++ {
			ch, err := s.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					checkFuzzError(t, p, err, body)
				}
				break
			}
			if i > len(body)+2 {
				t.Fatalf("%s: more chunks (%d) than input bytes", p.Name(), i)
			}
			if u := ch.Usage; u != nil && (u.PromptTokens < 0 || u.CompletionTokens < 0 || u.TotalTokens < 0) {
				t.Fatalf("%s: negative usage %+v", p.Name(), *u)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
	})
}
