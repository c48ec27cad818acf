package function

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llm-secure-gateway/gateway/providers"
)

// instant is an in-process provider that answers at once, so the benchmark
// measures the gateway's own work: decode → auth → validate → rate limit →
// guard → (provider) → output guard → encode.
type instant struct{}

func (instant) Name() string  { return "instant" }
func (instant) Model() string { return "instant-1" }
func (instant) Complete(context.Context, providers.Request) (*providers.Response, error) {
	return &providers.Response{Text: "Teal is a colour, and a fine one.", FinishReason: "stop",
		Usage: providers.Usage{PromptTokens: 250, CompletionTokens: 9, TotalTokens: 259, Reported: true}}, nil
}

// prompt1K is a ~1 KB benign prompt.
var prompt1K = strings.Repeat("Please summarise the quarterly report and list three risks for the team. ", 14)

func benchGateway(b *testing.B) *Gateway {
	b.Helper()
	cfg, err := LoadConfig(context.Background(), env(map[string]string{
		"SERVICE_API_KEY": testKey, "GROQ_API_KEY": "gsk_unused", "RATE_LIMIT": "1000000000/second",
	}), LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	gw, err := New(cfg, WithLogger(NewLogger(io.Discard)), WithProviders(instant{}))
	if err != nil {
		b.Fatal(err)
	}
	return gw
}

// BenchmarkQueryHotPath is /query end to end in process, all local guards on.
func BenchmarkQueryHotPath(b *testing.B) {
	gw := benchGateway(b)
	body := `{"prompt":"` + prompt1K + `","max_tokens":256,"temperature":0.7}`
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req := httptest.NewRequest("POST", "/query", strings.NewReader(body))
		req.Header.Set("X-API-Key", testKey)
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkChatHotPath is the same for /v1/chat/completions.
func BenchmarkChatHotPath(b *testing.B) {
	gw := benchGateway(b)
	body := `{"model":"auto","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"` + prompt1K + `"}],"max_tokens":256}`
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testKey)
		rec := httptest.NewRecorder()
		gw.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkStreamTTFB measures time to the first content byte of a streamed
// answer over loopback, directly from a mock OpenAI-compatible upstream and
// through the gateway in front of it, side by side.
func BenchmarkStreamTTFB(b *testing.B) {
	mock := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Teal "},"finish_reason":null}]}`+"\n\n")
		fl.Flush()
		io.WriteString(w, `data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}`+"\n\ndata: [DONE]\n\n")
	}))
	defer mock.Close()
	cfg, err := LoadConfig(context.Background(), env(map[string]string{
		"SERVICE_API_KEY": testKey, "GROQ_API_KEY": "gsk_bench", "GROQ_BASE_URL": mock.URL + "/v1",
		"PROVIDER_ORDER": "groq", "RATE_LIMIT": "1000000000/second",
	}), LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	gw, err := New(cfg, WithLogger(NewLogger(io.Discard)))
	if err != nil {
		b.Fatal(err)
	}
	front := httptest.NewServer(gw)
	defer front.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	body := `{"model":"auto","stream":true,"messages":[{"role":"user","content":"` + prompt1K + `"}]}`

	ttfb := func(b *testing.B, url string, header map[string]string, marker string) {
		b.ReportAllocs()
		var total time.Duration
		for b.Loop() {
			req, _ := http.NewRequest("POST", url, strings.NewReader(body))
			for k, v := range header {
				req.Header.Set(k, v)
			}
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			r := bufio.NewReader(resp.Body)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					b.Fatalf("no content: %v", err)
				}
				if strings.Contains(line, marker) {
					break
				}
			}
			total += time.Since(start)
			io.Copy(io.Discard, r)
			resp.Body.Close()
		}
		b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-ttfb/op")
	}
	b.Run("direct", func(b *testing.B) {
		ttfb(b, mock.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer gsk_bench"}, "Teal")
	})
	b.Run("gateway", func(b *testing.B) {
		ttfb(b, front.URL+"/v1/chat/completions", map[string]string{"Authorization": "Bearer " + testKey}, "Teal")
	})
	_ = fmt.Sprint()
}
