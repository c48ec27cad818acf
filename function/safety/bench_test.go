package safety

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// BenchmarkGeminiRequest measures building one classification request for a
// 4,000-character prompt (what the gateway pays per verdict besides the call).
func BenchmarkGeminiRequest(b *testing.B) {
	g, err := newGemini(Config{GeminiKey: staticKey(geminiKey)}, 0.7, http.DefaultClient)
	if err != nil {
		b.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: strings.Repeat("Summarise this paragraph please. ", 125)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.request(msgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChainCheck is one full verdict against local fakes that answer at
// once: the chain's own overhead around the network round trip.
func BenchmarkChainCheck(b *testing.B) {
	for _, order := range []string{"gemini", "lakera"} {
		b.Run(order, func(b *testing.B) {
			_, gs := newFakeGemini(b, nil)
			_, ls := newFakeLakera(b, nil)
			tr := &http.Transport{}
			b.Cleanup(tr.CloseIdleConnections)
			c, err := New(Config{Order: []string{order}, HTTPClient: &http.Client{Transport: tr}, Timeout: time.Second,
				GeminiBaseURL: gs.URL, GeminiKey: staticKey(geminiKey), LakeraBaseURL: ls.URL, LakeraKey: staticKey(lakeraKey)})
			if err != nil {
				b.Fatal(err)
			}
			msgs := []Message{{Role: "user", Content: strings.Repeat("Summarise this paragraph please. ", 125)}}
			b.ReportAllocs()
			for b.Loop() {
				v, err := c.Check(context.Background(), msgs)
				if err != nil || v.Checker != order {
					b.Fatalf("v=%+v err=%v", v, err)
				}
			}
		})
	}
}
