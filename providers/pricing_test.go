package providers

import "testing"

func TestPricingCost(t *testing.T) {
	p := DefaultPricing()
	u := func(in, out int) Usage {
		return Usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out, Reported: true}
	}
	tests := []struct {
		name            string
		provider, model string
		usage           Usage
		want            *float64
	}{
		{"gemini flash-lite", NameGemini, "gemini-2.5-flash-lite", u(1_000_000, 1_000_000), ptr(0.50)},
		{"spec example groq", NameGroq, "openai/gpt-oss-20b", u(12, 85), ptr(0.0000264)},
		{"groq 120b", NameGroq, "openai/gpt-oss-120b", u(2000, 1000), ptr(0.0009)},
		{"openrouter free suffix", NameOpenRouter, "meta-llama/llama-3.2-3b-instruct:free", u(5000, 5000), ptr(0.0)},
		{"openrouter default", NameOpenRouter, DefaultOpenRouterModel, u(5000, 5000), ptr(0.0)},
		{"demo", NameDemo, DemoModel, u(10, 10), ptr(0.0)},
		{"unknown model", NameGroq, "acme/unknown", u(10, 10), nil},
		{"free suffix elsewhere is not free", NameGroq, "x:free", u(10, 10), nil},
		{"paid openrouter model unknown", NameOpenRouter, "openai/gpt-4o-mini", u(10, 10), nil},
		{"usage not reported", NameGemini, "gemini-2.5-flash-lite", Usage{}, nil},
		{"zero usage reported is zero", NameGemini, "gemini-2.5-flash-lite", Usage{Reported: true}, ptr(0.0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Cost(tc.provider, tc.model, tc.usage)
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("Cost = %v, want %v", deref(got), deref(tc.want))
			}
		})
	}
}

func TestDefaultsArePriced(t *testing.T) {
	p := DefaultPricing()
	for _, pm := range [][2]string{
		{NameGemini, DefaultGeminiModel}, {NameGroq, DefaultGroqModel}, {NameOpenRouter, DefaultOpenRouterModel}, {NameDemo, DemoModel},
	} {
		if _, ok := p.Price(pm[0], pm[1]); !ok {
			t.Errorf("default model %s/%s has no price", pm[0], pm[1])
		}
	}
	if Key("groq", "openai/gpt-oss-20b") != "groq/openai/gpt-oss-20b" {
		t.Error("Key format changed")
	}
	var nilTable Pricing
	if nilTable.Cost(NameGemini, DefaultGeminiModel, Usage{Reported: true}) != nil {
		t.Error("nil table prices nothing")
	}
}
