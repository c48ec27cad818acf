package function

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-secure-gateway/gateway/adapters/fakes"
)

// upstream is a fake provider speaking one wire format ("gemini" or
// "openai") with a behaviour the test can change between requests.
type upstream struct {
	t      *testing.T
	format string
	srv    *httptest.Server

	mu       sync.Mutex
	mode     string // ok, 503, 429, safety, hang, error200, badkey
	calls    int
	lastBody []byte
	lastHdr  http.Header
	lastURL  string
}

func newUpstream(t *testing.T, format string) *upstream {
	u := &upstream{t: t, format: format, mode: "ok"}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) set(mode string) {
	u.mu.Lock()
	u.mode = mode
	u.mu.Unlock()
}

func (u *upstream) stats() (int, []byte, http.Header, string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls, u.lastBody, u.lastHdr, u.lastURL
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.calls++
	u.lastBody, u.lastHdr, u.lastURL = body, r.Header.Clone(), r.URL.String()
	mode := u.mode
	u.mu.Unlock()
	streaming := strings.Contains(r.URL.Path, ":streamGenerateContent") || bytes.Contains(body, []byte(`"stream":true`))
	if streaming && (mode == "ok" || mode == "cut" || mode == "echo-secret" || mode == "leak") {
		u.stream(w, mode)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch mode {
	case "hang":
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	case "503":
		w.WriteHeader(503)
		if u.format == "gemini" {
			io.WriteString(w, `{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}`)
		} else {
			io.WriteString(w, `{"error":{"message":"Service Unavailable","type":"internal_server_error"}}`)
		}
		return
	case "429":
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(429)
		if u.format == "gemini" {
			io.WriteString(w, `{"error":{"code":429,"message":"You exceeded your current quota.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"21s"}]}}`)
		} else {
			io.WriteString(w, `{"error":{"message":"Rate limit reached for model in organization org_x on tokens per minute (TPM). Please try again in 825ms.","type":"tokens","code":"rate_limit_exceeded"}}`)
		}
		return
	case "safety":
		io.WriteString(w, `{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH","blocked":true}]},"usageMetadata":{"promptTokenCount":14,"totalTokenCount":14},"modelVersion":"gemini-2.5-flash-lite","responseId":"b1"}`)
		return
	case "error200":
		io.WriteString(w, `{"error":{"code":502,"message":"Provider returned error","metadata":{"provider_name":"Azure","raw":"upstream secret body"}}}`)
		return
	case "badkey":
		w.WriteHeader(401)
		io.WriteString(w, `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`)
		return
	case "echo-secret":
		u.answer(w, "here is a key AKIA2E0A8F3B244C9986 for you")
		return
	case "leak":
		u.answer(w, "Sure. My instructions say: "+confidentialSystem)
		return
	}
	u.answer(w, "Teal is a colour.")
}

// stream sends an answer as server-sent events in the provider's framing,
// flushing each event; "cut" stops after the first content chunk without
// the stream's proper end.
func (u *upstream) stream(w http.ResponseWriter, mode string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(200)
	fl := w.(http.Flusher)
	parts := []string{"Teal ", "is a ", "colour."}
	if mode == "echo-secret" {
		parts = []string{"here is a key ", "AKIA2E0A8F", "3B244C9986", " for you"}
	}
	if mode == "leak" {
		parts = strings.SplitAfter("Sure. My instructions say: "+confidentialSystem, " ")
	}
	for i, p := range parts {
		t, _ := json.Marshal(p)
		if u.format == "gemini" {
			finish := ""
			if i == len(parts)-1 {
				finish = `,"finishReason":"STOP"`
			}
			fmt.Fprintf(w, "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":%s}]}%s,\"index\":0}],\"usageMetadata\":{\"promptTokenCount\":12,\"candidatesTokenCount\":%d,\"totalTokenCount\":%d},\"modelVersion\":\"gemini-2.5-flash-lite\"}\r\n\r\n", t, finish, 3*(i+1), 12+3*(i+1))
		} else {
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1764240000,\"model\":\"openai/gpt-oss-20b\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%s},\"finish_reason\":null}]}\n\n", t)
		}
		fl.Flush()
		if mode == "cut" {
			return
		}
	}
	if u.format != "gemini" {
		io.WriteString(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1764240000,\"model\":\"openai/gpt-oss-20b\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n")
		io.WriteString(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1764240000,\"model\":\"openai/gpt-oss-20b\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9,\"total_tokens\":21}}\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	}
	fl.Flush()
}

func (u *upstream) answer(w http.ResponseWriter, text string) {
	t, _ := json.Marshal(text)
	if u.format == "gemini" {
		fmt.Fprintf(w, `{"candidates":[{"content":{"role":"model","parts":[{"text":%s}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":85,"totalTokenCount":97},"modelVersion":"gemini-2.5-flash-lite","responseId":"r1"}`, t)
		return
	}
	fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1764240000,"model":"openai/gpt-oss-20b","choices":[{"index":0,"message":{"role":"assistant","content":%s},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":85,"total_tokens":97}}`, t)
}

const confidentialSystem = "You are the Acme support bot; never discuss the platinum tier discount code with anyone, ever."

const (
	testKey       = "svc-key-ONE-1234567890"
	testKey2      = "svc-key-TWO-0987654321"
	geminiTestKey = "AIzaSyTESTgeminiKEY000000000000000000"
	groqTestKey   = "gsk_TESTgroqKEY0000000000000000000000000"
)

// env returns a getenv over a map, so tests never touch the process
// environment.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

type testGateway struct {
	gw     *Gateway
	gemini *upstream
	groq   *upstream
	logs   *fakes.LogBuffer
}

// newTestGateway builds the real pipeline against fake Gemini and Groq
// servers; extra overrides the environment.
func newTestGateway(t *testing.T, extra map[string]string) *testGateway {
	t.Helper()
	tg := &testGateway{gemini: newUpstream(t, "gemini"), groq: newUpstream(t, "openai"), logs: &fakes.LogBuffer{}}
	m := map[string]string{
		"SERVICE_API_KEY":  testKey + "," + testKey2,
		"GEMINI_API_KEY":   geminiTestKey,
		"GROQ_API_KEY":     groqTestKey,
		"GEMINI_BASE_URL":  tg.gemini.srv.URL,
		"GROQ_BASE_URL":    tg.groq.srv.URL + "/openai/v1",
		"PROVIDER_TIMEOUT": "2s",
		"REQUEST_TIMEOUT":  "5s",
		"RATE_LIMIT":       "1000/minute",
	}
	for k, v := range extra {
		m[k] = v
	}
	cfg, err := LoadConfig(context.Background(), env(m), LoadOptions{})
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	gw, err := New(cfg, WithLogger(NewLogger(tg.logs)))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tg.gw = gw
	return tg
}

type call struct {
	method, path, body string
	header             map[string]string
}

func (tg *testGateway) do(c call) *httptest.ResponseRecorder {
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.path, body)
	req.RemoteAddr = "203.0.113.7:5555"
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	tg.gw.ServeHTTP(rec, req)
	return rec
}

func decode(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, rec.Body.String())
	}
	return m
}

var _ = slog.LevelInfo
