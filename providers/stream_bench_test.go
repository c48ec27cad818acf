package providers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// benchStream builds a provider stream over an in-memory body of n content
// events, so the benchmark measures framing and decoding only.
func benchStreamBody(w streamWire, n int) []byte {
	var b strings.Builder
	b.WriteString(w.start)
	for range n {
		b.WriteString(w.content(" token"))
	}
	b.WriteString(w.finish)
	b.WriteString(w.terminator)
	return []byte(b.String())
}

func newBenchConn(provider string, body []byte) *sseConn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &sseConn{provider: provider, ctx: ctx, cancel: cancel, body: io.NopCloser(bytes.NewReader(body))}
	c.rd = newSSEReader(activityReader{r: c.body, last: &c.lastRead}, DefaultMaxEventBytes)
	return c
}

// BenchmarkStreamParse: chunks/s and allocations per chunk for each wire
// format, from raw bytes to Chunk values.
func BenchmarkStreamParse(b *testing.B) {
	const n = 200
	wires := streamWires()
	cases := []struct {
		name string
		w    streamWire
		open func(c *sseConn) Stream
	}{
		{"openai", wires[0], func(c *sseConn) Stream { return &oaStream{sseConn: c} }},
		{"openrouter", wires[1], func(c *sseConn) Stream { return &oaStream{sseConn: c} }},
		{"gemini", wires[2], func(c *sseConn) Stream { return &geminiStream{sseConn: c} }},
		{"anthropic", wires[4], func(c *sseConn) Stream { return &anthStream{sseConn: c} }},
	}
	for _, tc := range cases {
		body := benchStreamBody(tc.w, n)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			chunks := 0
			for b.Loop() {
				s := tc.open(newBenchConn(tc.w.name, body))
				for {
					_, err := s.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					chunks++
				}
			}
			b.ReportMetric(float64(chunks)/b.Elapsed().Seconds(), "chunks/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(chunks), "ns/chunk")
		})
	}
}

// BenchmarkStreamCascadeFirstChunk: from Cascade.Stream to the first content
// chunk over loopback HTTP, an upstream that answers at once: the latency the
// provider side adds to time-to-first-byte.
func BenchmarkStreamCascadeFirstChunk(b *testing.B) {
	f := newSSEFake(b, groqStreamOK())
	c := NewCascade(CascadeConfig{Providers: []Provider{
		NewGroq(OpenAIConfig{BaseURL: f.URL, Key: StaticKey(testKey), HTTPClient: NewHTTPClient()}),
	}})
	req := chatRequest()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		ls, err := c.Stream(ctx, req, DefaultAttemptTimeout)
		if err != nil {
			b.Fatal(err)
		}
		if ch, err := ls.Next(); err != nil || ch.Text == "" {
			b.Fatal(ch, err)
		}
		ls.Close()
	}
}

// BenchmarkStreamRawFirstChunk is the baseline for the one above: the same
// request with a bare http.Client, reading lines up to the first content.
func BenchmarkStreamRawFirstChunk(b *testing.B) {
	f := newSSEFake(b, groqStreamOK())
	client := NewHTTPClient()
	payload := []byte(`{"model":"openai/gpt-oss-20b","messages":[{"role":"user","content":"Name a colour."}],"stream":true}`)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, f.URL+"/chat/completions", bytes.NewReader(payload))
		req.Header.Set("Authorization", "Bearer "+testKey)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				b.Fatal(err)
			}
			if strings.Contains(line, `"content":"Te"`) {
				break
			}
		}
		resp.Body.Close()
	}
}
