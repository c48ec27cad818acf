package providers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDemo(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name       string
		req        Request
		wantPrefix string
		wantSubstr string
		wantFinish string
		wantPrompt int
	}{
		{
			name:       "echoes the last user message",
			req:        Request{Messages: []Message{{Role: "system", Content: "be nice"}, {Role: "user", Content: "first"}, {Role: "assistant", Content: "ok"}, {Role: "user", Content: "What is Go?"}}},
			wantPrefix: "[demo provider — no LLM was called] You asked: \"What is Go?\" (11 characters).",
			wantFinish: "stop", wantPrompt: (7 + 5 + 2 + 11 + 3) / 4,
		},
		{
			name:       "tiny max_tokens keeps the label",
			req:        Request{Messages: []Message{{Role: "user", Content: "hi"}}, MaxTokens: 1},
			wantPrefix: "[demo provider — no LLM was called] ",
			wantFinish: "length", wantPrompt: 1,
		},
		{
			name:       "long prompts are cut in the echo but counted whole",
			req:        Request{Messages: []Message{{Role: "user", Content: long}}},
			wantSubstr: "…\" (300 characters).",
			wantFinish: "stop", wantPrompt: 75,
		},
		{
			name:       "max_tokens is honoured",
			req:        Request{Messages: []Message{{Role: "user", Content: "hello there, how are you"}}, MaxTokens: 12},
			wantPrefix: "[demo provider — no LLM was called] You asked",
			wantFinish: "length", wantPrompt: 6,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDemo()
			a, err := d.Complete(bg(t), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := d.Complete(bg(t), tc.req)
			if *a != *b {
				t.Error("demo answers must be deterministic")
			}
			if !strings.HasPrefix(a.Text, tc.wantPrefix) || !strings.Contains(a.Text, tc.wantSubstr) {
				t.Errorf("text %q", a.Text)
			}
			if tc.req.MaxTokens > 1 && utf8.RuneCountInString(a.Text) > tc.req.MaxTokens*4 {
				t.Errorf("text longer than max_tokens allows: %q", a.Text)
			}
			u := a.Usage
			if a.FinishReason != tc.wantFinish || a.Model != DemoModel || !u.Reported || u.PromptTokens != tc.wantPrompt ||
				u.CompletionTokens <= 0 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
				t.Errorf("got %+v", a)
			}
		})
	}
}

func TestDemoHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(bg(t))
	cancel()
	_, err := NewDemo().Complete(ctx, chatRequest())
	mustError(t, err, KindCanceled)
	if !errors.Is(err, context.Canceled) {
		t.Error("want context.Canceled in chain")
	}
}

func TestDemoThroughCascadeCostsZero(t *testing.T) {
	res, err := NewCascade(CascadeConfig{Providers: []Provider{NewDemo()}}).Complete(bg(t), chatRequest())
	if err != nil {
		t.Fatal(err)
	}
	if res.Provider != "demo" || res.CostUSD == nil || *res.CostUSD != 0 {
		t.Errorf("got %+v", res)
	}
}
