package function

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/llm-secure-gateway/gateway/providers"
)

func BenchmarkLogRequest(b *testing.B) {
	g := benchGateway(b)
	g.log = NewLogger(io.Discard)
	r := httptest.NewRequest("POST", "/v1/chat/completions", nil)
	r.Header.Set("X-Cloud-Trace-Context", "105445aa7843bc8bf206b12000100000/1;o=1")
	reason := "HTTP 503 from provider"
	cost := 0.0001
	s := &reqState{id: "0123456789abcdef0123456789abcdef", route: "POST /v1/chat/completions", clientIP: "203.0.113.9", keyID: "abcdef012345",
		provider: "groq", model: "openai/gpt-oss-20b", usage: &providers.Usage{PromptTokens: 250, CompletionTokens: 40, TotalTokens: 290},
		costUSD: &cost, steps: []providers.Step{{Provider: "gemini", Status: "failed", Reason: &reason}, {Provider: "groq", Status: "success"}}}
	b.ReportAllocs()
	for b.Loop() {
		g.logRequest(r.Context(), r, s, 200, 412*time.Microsecond)
	}
}
