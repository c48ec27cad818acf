package providers

import (
	"testing"
)

// Typical answers: a paragraph of text with the usual metadata around it.
var (
	benchText       = `"Go's net/http package gives you a production-ready HTTP server and client in the standard library. Handlers compose, contexts carry deadlines, and httptest makes testing them cheap."`
	benchGeminiBody = []byte(`{"candidates":[{"content":{"role":"model","parts":[{"text":` + benchText + `}]},"finishReason":"STOP","index":0,"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"},{"category":"HARM_CATEGORY_HATE_SPEECH","probability":"NEGLIGIBLE"},{"category":"HARM_CATEGORY_SEXUALLY_EXPLICIT","probability":"NEGLIGIBLE"},{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"NEGLIGIBLE"}],"avgLogprobs":-0.21}],"usageMetadata":{"promptTokenCount":41,"candidatesTokenCount":38,"totalTokenCount":79,"promptTokensDetails":[{"modality":"TEXT","tokenCount":41}],"candidatesTokensDetails":[{"modality":"TEXT","tokenCount":38}],"serviceTier":"standard"},"modelVersion":"gemini-2.5-flash-lite","responseId":"q3VnaZr0Bp6Yx_AP2LuQ4Q4"}`)
	benchOpenAIBody = []byte(`{"id":"chatcmpl-9f1c","object":"chat.completion","created":1764240000,"model":"openai/gpt-oss-20b","system_fingerprint":"fp_abc123","choices":[{"index":0,"message":{"role":"assistant","content":` + benchText + `,"reasoning":"The user asks about Go HTTP."},"logprobs":null,"finish_reason":"stop"}],"usage":{"queue_time":0.02,"prompt_tokens":41,"prompt_time":0.001,"completion_tokens":38,"completion_time":0.02,"total_tokens":79,"total_time":0.021},"x_groq":{"id":"req_01abc"},"service_tier":"on_demand"}`)
)

func BenchmarkDecodeGemini(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchGeminiBody)))
	for b.Loop() {
		if _, err := decodeGemini(benchGeminiBody); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeOpenAI(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchOpenAIBody)))
	for b.Loop() {
		if _, err := decodeOpenAI("groq", benchOpenAIBody); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCascadeGroq is one full cascade call over loopback HTTP to a fake
// that answers at once: encode, send, read capped, decode, price.
func BenchmarkCascadeGroq(b *testing.B) {
	f := newFake(b, reply{status: 200, body: string(benchOpenAIBody)})
	c := NewCascade(CascadeConfig{Providers: []Provider{
		NewGroq(OpenAIConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: NewHTTPClient()}),
	}})
	req := chatRequest()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Complete(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
