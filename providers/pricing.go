package providers

import (
	"math"
	"strings"
)

// Price is USD per million tokens.
type Price struct {
	InputPerMTok  float64 `json:"input_per_mtok"`
	OutputPerMTok float64 `json:"output_per_mtok"`
}

// Pricing maps Key(provider, model) to its price.
type Pricing map[string]Price

// Key is the pricing table key for a provider's model, e.g. "groq/openai/gpt-oss-20b".
func Key(provider, model string) string { return provider + "/" + model }

// DefaultPricing returns the standard paid-tier list prices from
// reference/providers.md §6 (compiled 2026-11-27 from pricing-page
// transcriptions of 2026-09 and third-party price tables; not checked against
// the live pages). Retired models stay listed so old configurations still
// price correctly. Any OpenRouter ":free" model is priced 0 by Cost, not here.
func DefaultPricing() Pricing {
	return Pricing{
		Key(NameGemini, "gemini-2.5-flash-lite"): {0.10, 0.40},
		Key(NameGemini, "gemini-2.5-flash"):      {0.30, 2.50}, // deprecated, shutdown 2026-12-01
		Key(NameGemini, "gemini-2.0-flash"):      {0.10, 0.40}, // shut down 2026-06-01

		Key(NameGroq, "openai/gpt-oss-20b"):      {0.075, 0.30},
		Key(NameGroq, "openai/gpt-oss-120b"):     {0.15, 0.60},
		Key(NameGroq, "llama-3.3-70b-versatile"): {0.59, 0.79}, // reportedly decommissioned 2026-08-16
		Key(NameGroq, "llama-3.1-8b-instant"):    {0.05, 0.08}, // reportedly decommissioned 2026-08-16

		Key(NameOpenRouter, "openrouter/free"): {0, 0}, // router over free models

		Key(NameDemo, DemoModel): {0, 0},
	}
}

// Price looks up a model; OpenRouter's ":free" variants are free by
// definition, whatever the table says about the paid one.
func (p Pricing) Price(provider, model string) (Price, bool) {
	if pr, ok := p[Key(provider, model)]; ok {
		return pr, true
	}
	if provider == NameOpenRouter && strings.HasSuffix(model, ":free") {
		return Price{}, true
	}
	return Price{}, false
}

// Cost estimates a call's cost in USD. It is nil, not zero, when the model
// is unknown or the provider reported no usage: unknown is not free.
func (p Pricing) Cost(provider, model string, u Usage) *float64 {
	if !u.Reported {
		return nil
	}
	pr, ok := p.Price(provider, model)
	if !ok {
		return nil
	}
	// A negative count from a broken upstream must not make a negative cost.
	c := (float64(max(u.PromptTokens, 0))*pr.InputPerMTok + float64(max(u.CompletionTokens, 0))*pr.OutputPerMTok) / 1e6
	// Round away float noise (0.000074000000000001) that would show in JSON;
	// 1e-12 USD is far below any real price step.
	c = math.Round(c*1e12) / 1e12
	return &c
}
