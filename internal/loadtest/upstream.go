// Package loadtest drives the real gateway handler at high concurrency
// against mock providers: with a fault mix it is the resilience test
// (fault_test.go), without one it is the load benchmark (cmd/loadbench).
package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Answer is the text every mock provider answers with; a 200 from the
// gateway must carry exactly this.
const Answer = "Teal is a colour between blue and green."

// Fault is one way a mock upstream misbehaves.
type Fault string

const (
	OK            Fault = "ok"
	Status5xx     Fault = "5xx"               // 500/502/503 with the provider's error body
	Status429     Fault = "429"               // with Retry-After and, for Gemini, RetryInfo
	Hang          Fault = "hang"              // no answer until the caller gives up
	Drip          Fault = "drip"              // a valid answer trickled over up to 1s
	Truncated     Fault = "truncated"         // Content-Length promises more than is sent
	Malformed     Fault = "malformed"         // 200 with broken JSON
	Reset         Fault = "reset"             // TCP reset instead of an answer
	Oversized     Fault = "oversized"         // declares 64 MiB
	OversizedBody Fault = "oversized-chunked" // streams past the 4 MiB cap, no length
	Error200      Fault = "error200"          // an error inside a 200 body
	Empty         Fault = "empty"             // 200 without any text
)

// Mix weighs faults; a zero Mix answers OK every time.
type Mix map[Fault]int

// FaultMix is the resilience test's mix: half the calls fail somehow.
var FaultMix = Mix{
	OK: 50, Status5xx: 10, Status429: 8, Hang: 4, Drip: 6, Truncated: 5, Malformed: 5,
	Reset: 5, Oversized: 2, OversizedBody: 1, Error200: 2, Empty: 2,
}

// Upstream is a mock provider speaking Gemini's generateContent (and its
// SSE stream) and OpenAI's chat completions (and its SSE stream), chosen by
// path, with a fault drawn from its Mix on every call.
type Upstream struct {
	*httptest.Server
	faults []Fault
	total  int
	counts sync.Map // Fault -> *atomic.Int64
	calls  atomic.Int64
	active atomic.Int64
}

// NewUpstream starts a mock on a loopback port.
func NewUpstream(mix Mix) *Upstream {
	u := &Upstream{}
	for f, w := range mix {
		for range w {
			u.faults = append(u.faults, f)
		}
	}
	u.total = len(u.faults)
	u.Server = httptest.NewUnstartedServer(u)
	// Reading the request body before answering is what lets the server see
	// a client go away (and a hang end).
	u.Server.Config.ReadHeaderTimeout = 5 * time.Second
	u.Start()
	return u
}

// Calls is how many requests arrived; Active how many are being answered.
func (u *Upstream) Calls() int64  { return u.calls.Load() }
func (u *Upstream) Active() int64 { return u.active.Load() }

// Counts is how often each fault was served.
func (u *Upstream) Counts() map[Fault]int64 {
	out := map[Fault]int64{}
	u.counts.Range(func(k, v any) bool {
		out[k.(Fault)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func (u *Upstream) pick() Fault {
	if u.total == 0 {
		return OK
	}
	return u.faults[rand.IntN(u.total)]
}

func (u *Upstream) count(f Fault) {
	v, ok := u.counts.Load(f)
	if !ok {
		v, _ = u.counts.LoadOrStore(f, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

var (
	geminiOK     = mustJSON(map[string]any{"candidates": []any{map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": Answer}}}, "finishReason": "STOP", "index": 0}}, "usageMetadata": map[string]any{"promptTokenCount": 260, "candidatesTokenCount": 9, "totalTokenCount": 269}, "modelVersion": "gemini-2.5-flash-lite", "responseId": "r1"})
	openAIOK     = mustJSON(map[string]any{"id": "chatcmpl-1", "object": "chat.completion", "created": 1764240000, "model": "openai/gpt-oss-20b", "choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": Answer}, "finish_reason": "stop"}}, "usage": map[string]any{"prompt_tokens": 260, "completion_tokens": 9, "total_tokens": 269}})
	gemini429    = []byte(`{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1s"}]}}`)
	openAI429    = []byte(`{"error":{"message":"Rate limit reached for model. Please try again in 1s.","type":"tokens","code":"rate_limit_exceeded"}}`)
	geminiEmpty  = []byte(`{"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS"}]}`)
	openAIEmpty  = []byte(`{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":""},"finish_reason":"length"}]}`)
	error200Body = []byte(`{"error":{"code":502,"message":"Provider returned error","metadata":{"raw":"upstream body"}}}`)
)

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (u *Upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	u.active.Add(1)
	defer u.active.Add(-1)
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	gemini := strings.Contains(r.URL.Path, ":generateContent") || strings.Contains(r.URL.Path, ":streamGenerateContent")
	stream := strings.Contains(r.URL.Path, ":streamGenerateContent") || isStreamRequest(body)
	f := u.pick()
	u.count(f)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	ok, limited, empty := openAIOK, openAI429, openAIEmpty
	if gemini {
		ok, limited, empty = geminiOK, gemini429, geminiEmpty
	}
	switch f {
	case OK:
		if stream {
			writeStream(w, gemini)
			return
		}
		w.Write(ok)
	case Status5xx:
		code := []int{500, 502, 503}[rand.IntN(3)]
		w.WriteHeader(code)
		if gemini {
			fmt.Fprintf(w, `{"error":{"code":%d,"message":"The model is overloaded.","status":"UNAVAILABLE"}}`, code)
		} else {
			io.WriteString(w, `{"error":{"message":"Service Unavailable","type":"internal_server_error"}}`)
		}
	case Status429:
		h.Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write(limited)
	case Hang:
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	case Drip:
		drip(r.Context(), w, ok, time.Duration(100+rand.IntN(900))*time.Millisecond)
	case Truncated:
		h.Set("Content-Length", fmt.Sprint(len(ok)))
		w.Write(ok[:len(ok)/2])
		// Returning short of Content-Length makes the server drop the connection.
	case Malformed:
		w.Write(ok[:len(ok)-7])
		io.WriteString(w, `,,}`)
	case Reset:
		reset(w)
	case Oversized:
		h.Set("Content-Length", fmt.Sprint(64<<20))
		w.WriteHeader(http.StatusOK)
		w.Write(ok) // the client stops at the header; the rest never comes
	case OversizedBody:
		w.WriteHeader(http.StatusOK)
		chunk := []byte(strings.Repeat(" ", 64<<10))
		for range (5 << 20) / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	case Error200:
		w.Write(error200Body)
	case Empty:
		w.Write(empty)
	}
}

func isStreamRequest(body []byte) bool {
	var v struct {
		Stream bool `json:"stream"`
	}
	return json.Unmarshal(body, &v) == nil && v.Stream
}

// drip sends body in ten pieces over d, or stops when the caller leaves.
func drip(ctx context.Context, w http.ResponseWriter, body []byte, d time.Duration) {
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	step := (len(body) + 9) / 10
	for i := 0; i < len(body); i += step {
		select {
		case <-ctx.Done():
			return
		case <-time.After(d / 10):
		}
		w.Write(body[i:min(i+step, len(body))])
		rc.Flush()
	}
}

// reset answers with a TCP RST: the connection is hijacked and closed with
// SO_LINGER 0.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// writeStream answers in the provider's server-sent events: the answer in
// three chunks, then usage and the end marker.
func writeStream(w http.ResponseWriter, gemini bool) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	words := strings.SplitAfter(Answer, " ")
	parts := []string{strings.Join(words[:2], ""), strings.Join(words[2:5], ""), strings.Join(words[5:], "")}
	for i, p := range parts {
		var ev []byte
		if gemini {
			c := map[string]any{"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": p}}}, "index": 0}
			m := map[string]any{"candidates": []any{c}, "modelVersion": "gemini-2.5-flash-lite", "responseId": "r1"}
			if i == len(parts)-1 {
				c["finishReason"] = "STOP"
				m["usageMetadata"] = map[string]any{"promptTokenCount": 260, "candidatesTokenCount": 9, "totalTokenCount": 269}
			}
			ev = mustJSON(m)
		} else {
			ch := map[string]any{"index": 0, "delta": map[string]any{"content": p}, "finish_reason": nil}
			if i == len(parts)-1 {
				ch["finish_reason"] = "stop"
			}
			ev = mustJSON(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1764240000, "model": "openai/gpt-oss-20b", "choices": []any{ch}})
		}
		fmt.Fprintf(w, "data: %s\n\n", ev)
		rc.Flush()
	}
	if !gemini {
		fmt.Fprintf(w, "data: %s\n\n", mustJSON(map[string]any{"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1764240000, "model": "openai/gpt-oss-20b", "choices": []any{}, "usage": map[string]any{"prompt_tokens": 260, "completion_tokens": 9, "total_tokens": 269}}))
		io.WriteString(w, "data: [DONE]\n\n")
	}
	rc.Flush()
}
