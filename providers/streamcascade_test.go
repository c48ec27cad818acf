package providers

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// plainOnly hides a provider's Stream method: the cascade must replay it.
type plainOnly struct{ Provider }

func groqOn(f *sseFake) *OpenAICompatible {
	return NewGroq(OpenAIConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: f.Client()})
}

// groqStreamOK is a whole clean Groq stream answering "Teal.".
func groqStreamOK() sseScript {
	w := streamWires()[0]
	return sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.content("al."), w.finish, w.terminator)}}
}

// readAll drains a LiveStream, returning the text and the final error.
func readAll(t *testing.T, ls *LiveStream) (string, []Chunk, error) {
	t.Helper()
	var sb strings.Builder
	var chunks []Chunk
	for range 1000 {
		ch, err := ls.Next()
		if err != nil {
			return sb.String(), chunks, err
		}
		sb.WriteString(ch.Text)
		chunks = append(chunks, ch)
	}
	t.Fatal("stream never ended")
	return "", nil, nil
}

func stepSummary(steps []Step) string {
	var parts []string
	for _, s := range steps {
		r := ""
		if s.Reason != nil {
			r = ": " + *s.Reason
		}
		parts = append(parts, s.Provider+" "+s.Status+r)
	}
	return strings.Join(parts, " | ")
}

// TestStreamCascadeFallsOverBeforeContent: whatever kills the first provider
// before its first content, the answer comes from the second, and the steps
// say why.
func TestStreamCascadeFallsOverBeforeContent(t *testing.T) {
	g := streamWires()[2] // Gemini, CRLF
	tests := []struct {
		name     string
		first    sseScript
		idle     time.Duration
		attempt  time.Duration
		wantStep string
	}{
		{name: "HTTP 503", first: sseScript{status: 503, body: `{"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}}`},
			wantStep: "gemini failed: HTTP 503 from provider (UNAVAILABLE)"},
		{name: "error event", first: sseScript{steps: []sseStep{raw(g.errorEvent)}},
			wantStep: "gemini failed: error in stream"},
		{name: "cut connection", first: sseScript{steps: []sseStep{raw(": x\n"), cut}},
			wantStep: "gemini failed: " + msgInterrupted},
		{name: "malformed first chunk", first: sseScript{steps: []sseStep{raw(g.malformed)}},
			wantStep: "gemini failed: malformed stream chunk"},
		{name: "missing terminator, no content", first: sseScript{},
			wantStep: "gemini failed: " + msgNoTerminator},
		{name: "clean end without text", first: sseScript{steps: []sseStep{raw(geminiEvent("\r\n", `{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}]}`))}},
			wantStep: "gemini failed: empty response (max tokens reached)"},
		{name: "stall", first: sseScript{steps: []sseStep{hang}}, idle: 80 * time.Millisecond,
			wantStep: "gemini timeout: stream stalled (no data for 80ms)"},
		{name: "stall after non-content chunk", first: sseScript{steps: []sseStep{raw(geminiEvent("\r\n", `{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":9}}`)), hang}},
			idle: 80 * time.Millisecond, wantStep: "gemini timeout: stream stalled (no data for 80ms)"},
		{name: "endless chunks without content", first: sseScript{steps: []sseStep{raw(strings.Repeat(geminiEvent("\r\n", `{"usageMetadata":{"promptTokenCount":9}}`), maxHeldChunks+10))}},
			wantStep: "gemini failed: no content in stream"},
		{name: "attempt timeout before content", first: sseScript{steps: []sseStep{hang}}, attempt: 100 * time.Millisecond,
			wantStep: "gemini timeout: timeout after 100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := newSSEFake(t, tt.first)
			second := newSSEFake(t, groqStreamOK())
			c := NewCascade(CascadeConfig{AttemptTimeout: tt.attempt, Providers: []Provider{
				g.newProvider(first), groqOn(second),
			}})
			start := time.Now()
			ls, err := c.Stream(bg(t), chatRequest(), tt.idle)
			if err != nil {
				t.Fatalf("Stream: %v (steps %s)", err, stepSummary(errSteps(err)))
			}
			defer ls.Close()
			if time.Since(start) > 3*time.Second {
				t.Errorf("fallover took %v", time.Since(start))
			}
			if ls.Provider() != "groq" || ls.Model() != DefaultGroqModel {
				t.Errorf("provider/model = %s/%s", ls.Provider(), ls.Model())
			}
			want := tt.wantStep + " | groq success"
			if got := stepSummary(ls.Steps()); got != want {
				t.Errorf("steps = %q, want %q", got, want)
			}
			text, _, err := readAll(t, ls)
			if text != "Teal." || !errors.Is(err, io.EOF) {
				t.Errorf("text %q end %v", text, err)
			}
			if u := ls.Usage(); u != (Usage{21, 3, 24, true}) {
				t.Errorf("usage = %+v", u)
			}
			if cost := ls.CostUSD(); cost == nil || *cost <= 0 {
				t.Errorf("cost = %v", cost)
			}
		})
	}
}

func errSteps(err error) []Step {
	if ce, ok := errors.AsType[*CascadeError](err); ok {
		return ce.Steps
	}
	return nil
}

// TestStreamCascadeNoFalloverAfterContent: once content exists, a failure is
// the client's final answer (an error from Next), never the next provider.
func TestStreamCascadeNoFalloverAfterContent(t *testing.T) {
	w := streamWires()[1] // OpenRouter
	tests := []struct {
		name     string
		script   sseScript
		idle     time.Duration
		wantKind Kind
		wantMsg  string
	}{
		{"error event", sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.errorEvent)}}, 0, KindBody, "error in stream"},
		{"cut", sseScript{steps: []sseStep{raw(w.start, w.content("Te")), cut}}, 0, KindNetwork, msgInterrupted},
		{"missing terminator", sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.finish)}}, 0, KindMalformed, msgNoTerminator},
		{"malformed", sseScript{steps: []sseStep{raw(w.start, w.content("Te"), w.malformed)}}, 0, KindMalformed, "malformed stream chunk"},
		{"stall", sseScript{steps: []sseStep{raw(w.start, w.content("Te")), hang}}, 100 * time.Millisecond, KindTimeout, msgStalled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first := newSSEFake(t, tt.script)
			second := newSSEFake(t, groqStreamOK())
			c := NewCascade(CascadeConfig{Providers: []Provider{w.newProvider(first), groqOn(second)}})
			ls, err := c.Stream(bg(t), chatRequest(), tt.idle)
			if err != nil {
				t.Fatal(err)
			}
			defer ls.Close()
			start := time.Now()
			text, _, err := readAll(t, ls)
			elapsed := time.Since(start)
			if text != "Te" {
				t.Errorf("text = %q", text)
			}
			pe := mustError(t, err, tt.wantKind)
			if pe.Message != tt.wantMsg {
				t.Errorf("message = %q, want %q", pe.Message, tt.wantMsg)
			}
			if tt.idle > 0 && elapsed > tt.idle*10 {
				t.Errorf("stall detected after %v with idle %v", elapsed, tt.idle)
			}
			if _, again := ls.Next(); again != err {
				t.Errorf("error not sticky: %v", again)
			}
			if second.count() != 0 {
				t.Error("fell over after content had been produced")
			}
			if got := stepSummary(ls.Steps()); got != "openrouter success" {
				t.Errorf("steps = %q", got)
			}
		})
	}
}

// Keep-alive comments are life: a slow first token behind OpenRouter's
// PROCESSING comments is not a stall, even past the idle bound.
func TestStreamCascadeKeepAliveIsNotAStall(t *testing.T) {
	w := streamWires()[1]
	steps := []sseStep{raw(orComment)}
	for range 10 {
		steps = append(steps, sseStep{raw: orComment, sleep: 30 * time.Millisecond})
	}
	steps = append(steps, raw(w.start, w.content("Te"), w.content("al."), w.finish, w.terminator))
	first := newSSEFake(t, sseScript{steps: steps})
	c := NewCascade(CascadeConfig{Providers: []Provider{w.newProvider(first)}})
	ls, err := c.Stream(bg(t), chatRequest(), 200*time.Millisecond)
	if err != nil {
		t.Fatalf("%v (%s)", err, stepSummary(errSteps(err)))
	}
	defer ls.Close()
	if text, _, err := readAll(t, ls); text != "Teal." || !errors.Is(err, io.EOF) {
		t.Errorf("text %q end %v", text, err)
	}
}

// The attempt timeout bounds the time to the first content only: a long
// answer with gaps longer than it still completes.
func TestStreamCascadeAttemptTimeoutOnlyToFirstContent(t *testing.T) {
	w := streamWires()[0]
	first := newSSEFake(t, sseScript{steps: []sseStep{
		raw(w.start, w.content("Te")),
		{raw: w.content("a"), sleep: 250 * time.Millisecond},
		{raw: w.content("l."), sleep: 250 * time.Millisecond},
		raw(w.finish, w.terminator),
	}})
	c := NewCascade(CascadeConfig{AttemptTimeout: 150 * time.Millisecond, Providers: []Provider{groqOn(first)}})
	ls, err := c.Stream(bg(t), chatRequest(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	if text, _, err := readAll(t, ls); text != "Teal." || !errors.Is(err, io.EOF) {
		t.Errorf("text %q end %v", text, err)
	}
}

// A provider's safety block stops the cascade: no shopping for a yes.
func TestStreamCascadeSafetyBlockStops(t *testing.T) {
	first := newSSEFake(t, sseScript{steps: []sseStep{raw(geminiEvent("\r\n",
		`{"promptFeedback":{"blockReason":"PROHIBITED_CONTENT"},"usageMetadata":{"promptTokenCount":9,"totalTokenCount":9}}`))}})
	second := newSSEFake(t, groqStreamOK())
	c := NewCascade(CascadeConfig{Providers: []Provider{streamWires()[2].newProvider(first), groqOn(second)}})
	ls, err := c.Stream(bg(t), chatRequest(), time.Second)
	if ls != nil {
		ls.Close()
		t.Fatal("got a stream")
	}
	ce, ok := errors.AsType[*CascadeError](err)
	if !ok || ce.Blocked == nil || !errors.Is(err, ErrSafetyBlocked) || errors.Is(err, ErrAllFailed) {
		t.Fatalf("err = %v", err)
	}
	if second.count() != 0 {
		t.Error("asked the next provider after a safety block")
	}
	if got := stepSummary(ce.Steps); got != "gemini failed: "+ErrSafetyBlocked.Error() {
		t.Errorf("steps = %q", got)
	}
}

// Canceling the caller's context closes the upstream connection promptly,
// both while waiting for content and mid-stream.
func TestStreamCascadeCancelClosesUpstream(t *testing.T) {
	w := streamWires()[4] // Anthropic
	t.Run("mid-stream", func(t *testing.T) {
		f := newSSEFake(t, sseScript{steps: []sseStep{raw(w.start, w.content("Te")), hang}})
		ctx, cancel := context.WithCancel(bg(t))
		defer cancel()
		c := NewCascade(CascadeConfig{Providers: []Provider{w.newProvider(f)}})
		ls, err := c.Stream(ctx, chatRequest(), 0)
		if err != nil {
			t.Fatal(err)
		}
		defer ls.Close()
		if ch, err := ls.Next(); err != nil || ch.Text != "Te" {
			t.Fatalf("%+v %v", ch, err)
		}
		got := make(chan error, 1)
		go func() { _, err := ls.Next(); got <- err }()
		time.Sleep(20 * time.Millisecond) // let Next block in its read
		cancel()
		select {
		case <-f.gone:
		case <-time.After(2 * time.Second):
			t.Fatal("upstream request was not canceled")
		}
		select {
		case err := <-got:
			mustError(t, err, KindCanceled)
		case <-time.After(2 * time.Second):
			t.Fatal("Next did not return after cancel")
		}
	})
	t.Run("before content", func(t *testing.T) {
		f := newSSEFake(t, sseScript{steps: []sseStep{raw(w.start), hang}})
		second := newSSEFake(t, groqStreamOK())
		ctx, cancel := context.WithCancel(bg(t))
		c := NewCascade(CascadeConfig{Providers: []Provider{w.newProvider(f), groqOn(second)}})
		time.AfterFunc(50*time.Millisecond, cancel)
		ls, err := c.Stream(ctx, chatRequest(), 0)
		if ls != nil {
			ls.Close()
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		select {
		case <-f.gone:
		case <-time.After(2 * time.Second):
			t.Fatal("upstream request was not canceled")
		}
		if second.count() != 0 {
			t.Error("went on to the next provider after the client left")
		}
	})
	t.Run("Close from another goroutine", func(t *testing.T) {
		f := newSSEFake(t, sseScript{steps: []sseStep{raw(w.start, w.content("Te")), hang}})
		c := NewCascade(CascadeConfig{Providers: []Provider{w.newProvider(f)}})
		ls, err := c.Stream(bg(t), chatRequest(), 0)
		if err != nil {
			t.Fatal(err)
		}
		ls.Next()
		got := make(chan error, 1)
		go func() { _, err := ls.Next(); got <- err }()
		time.Sleep(20 * time.Millisecond)
		ls.Close()
		ls.Close()
		select {
		case err := <-got:
			if err == nil || errors.Is(err, io.EOF) {
				t.Errorf("Next after Close = %v", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Close did not unblock Next")
		}
		<-f.gone
	})
}

func TestStreamCascadeAllFailAndDeadline(t *testing.T) {
	bad := newSSEFake(t, sseScript{status: 500, body: `{"error":{"message":"boom","type":"server_error"}}`})
	c := NewCascade(CascadeConfig{Providers: []Provider{groqOn(bad), NewOpenRouter(OpenAIConfig{BaseURL: bad.URL, Key: StaticKey(testKey), HTTPClient: bad.Client()})}})
	_, err := c.Stream(bg(t), chatRequest(), 0)
	if !errors.Is(err, ErrAllFailed) {
		t.Fatalf("err = %v", err)
	}
	if got := stepSummary(errSteps(err)); got != "groq failed: HTTP 500 from provider (server_error) | openrouter failed: HTTP 500 from provider (server_error)" {
		t.Errorf("steps = %q", got)
	}
	assertNoLeak(t, err, testKey, "boom")

	slow := newSSEFake(t, sseScript{steps: []sseStep{hang}})
	ctx, cancel := context.WithTimeout(bg(t), 60*time.Millisecond)
	defer cancel()
	c = NewCascade(CascadeConfig{Providers: []Provider{groqOn(slow)}})
	_, err = c.Stream(ctx, chatRequest(), 0)
	if !errors.Is(err, ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if got := stepSummary(errSteps(err)); got != "groq timeout: request deadline exceeded" {
		t.Errorf("steps = %q", got)
	}
}

// Providers without Stream are run through Complete and replayed; the demo
// provider streams in several chunks without any network.
func TestStreamCascadeReplayAndDemo(t *testing.T) {
	up := newFake(t, reply{status: 200, body: groqOK})
	plain := plainOnly{NewGroq(OpenAIConfig{BaseURL: up.URL, Key: StaticKey(testKey), HTTPClient: up.Client()})}
	c := NewCascade(CascadeConfig{Providers: []Provider{plain}})
	ls, err := c.Stream(bg(t), chatRequest(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	text, chunks, err := readAll(t, ls)
	ls.Close()
	if text != "Teal." || len(chunks) != 1 || chunks[0].FinishReason != "stop" || !errors.Is(err, io.EOF) {
		t.Errorf("replay: %q %+v %v", text, chunks, err)
	}
	if ls.Usage().TotalTokens != 24 {
		t.Errorf("usage %+v", ls.Usage())
	}

	c = NewCascade(CascadeConfig{Providers: []Provider{NewDemo()}})
	ls, err = c.Stream(bg(t), Request{Messages: []Message{{Role: "user", Content: "What is the capital of France?"}}}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	text, chunks, err = readAll(t, ls)
	want, _ := NewDemo().Complete(bg(t), Request{Messages: []Message{{Role: "user", Content: "What is the capital of France?"}}})
	if text != want.Text || !errors.Is(err, io.EOF) {
		t.Errorf("demo text %q err %v", text, err)
	}
	if len(chunks) < 3 || chunks[len(chunks)-1].FinishReason != "stop" {
		t.Errorf("demo chunks = %+v", chunks)
	}
	if cost := ls.CostUSD(); cost == nil || *cost != 0 {
		t.Errorf("demo cost = %v", cost)
	}
}

// A refused key is re-read once and the same provider retried, as in Complete.
func TestStreamCascadeKeyRefresh(t *testing.T) {
	f := newSSEFake(t,
		sseScript{status: 401, body: `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`},
		groqStreamOK())
	keys := &fakeKeys{keys: []string{"old-key", "new-key"}}
	g := NewGroq(OpenAIConfig{BaseURL: f.URL, Key: keys, HTTPClient: f.Client()})
	c := NewCascade(CascadeConfig{Providers: []Provider{g}, Keys: map[string]KeySource{"groq": keys}})
	ls, err := c.Stream(bg(t), chatRequest(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	if got := stepSummary(ls.Steps()); got != "groq failed: HTTP 401 from provider (invalid_api_key) | groq success" {
		t.Errorf("steps = %q", got)
	}
	if f.last(t).Header.Get("Authorization") != "Bearer new-key" || keys.refreshes != 1 {
		t.Error("did not retry with the refreshed key")
	}
}

func TestStreamCascadePreferModel(t *testing.T) {
	f := newSSEFake(t, groqStreamOK())
	c := NewCascade(CascadeConfig{Providers: []Provider{NewDemo(), groqOn(f)}})
	pc, err := c.Prefer("groq", "openai/gpt-oss-120b")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := pc.Stream(bg(t), chatRequest(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ls.Close()
	if ls.Model() != "openai/gpt-oss-120b" || !strings.Contains(string(f.last(t).Body), `"model":"openai/gpt-oss-120b"`) {
		t.Errorf("model = %s, body %s", ls.Model(), f.last(t).Body)
	}
	body := string(f.last(t).Body)
	if !strings.Contains(body, `"stream":true`) || !strings.Contains(body, `"stream_options":{"include_usage":true}`) {
		t.Errorf("request body = %s", body)
	}
}

// Cool-downs are shared with Complete: a provider that failed its stream
// start-up enough times is skipped by the next stream.
func TestStreamCascadeCooldown(t *testing.T) {
	bad := newSSEFake(t, sseScript{status: 503, body: `{"error":{"message":"over capacity","type":"server_error"}}`})
	c := NewCascade(CascadeConfig{CooldownAfter: 1, Providers: []Provider{groqOn(bad), NewDemo()}})
	want := []string{
		"groq failed: HTTP 503 from provider (server_error) | demo success",
		"groq skipped: " + reasonCooling + " | demo success",
	}
	for i, w := range want {
		ls, err := c.Stream(bg(t), chatRequest(), 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := stepSummary(ls.Steps()); got != w {
			t.Errorf("stream %d steps = %q, want %q", i, got, w)
		}
		ls.Close()
	}
	if bad.count() != 1 {
		t.Errorf("cooling provider was called: %d requests", bad.count())
	}
}
