package function

import (
	"errors"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/llm-secure-gateway/gateway/providers"
)

// truncatePrompt shortens a prompt for batch reports the way the original
// service did (first 50 characters, then "...").
func truncatePrompt(p string) string {
	if utf8.RuneCountInString(p) <= 50 {
		return p
	}
	r := []rune(p)
	return string(r[:50]) + "..."
}

type securityResult struct {
	Prompt            string         `json:"prompt"`
	Blocked           bool           `json:"blocked"`
	InjectionDetected bool           `json:"injection_detected"`
	PIIDetected       []string       `json:"pii_detected"`
	PIIMatches        map[string]int `json:"pii_matches"`
	Categories        []string       `json:"categories"`
	Score             float64        `json:"score"`
}

type securityReport struct {
	Total                    int              `json:"total"`
	Blocked                  int              `json:"blocked"`
	Passed                   int              `json:"passed"`
	PIILeaksPrevented        int              `json:"pii_leaks_prevented"`
	InjectionAttemptsBlocked int              `json:"injection_attempts_blocked"`
	Results                  []securityResult `json:"results"`
	RequestID                string           `json:"request_id"`
}

// batchSecurity runs up to 20 prompts through the input guard alone; no
// provider is called. It reports what the guard would do under the current
// configuration.
func (g *Gateway) batchSecurity(w http.ResponseWriter, r *http.Request) {
	var req BatchSecurityRequest
	if !g.admit(w, r, func(b *body) int {
		req.Prompts = b.strList("prompts")
		b.checkStruct(&req, "prompts")
		return 1
	}) {
		return
	}
	rep := securityReport{Total: len(req.Prompts), Results: make([]securityResult, 0, len(req.Prompts)), RequestID: requestID(r.Context())}
	for _, p := range req.Prompts {
		v := g.guard.Scan(p)
		res := securityResult{
			Prompt: truncatePrompt(p), Blocked: v.Blocked, InjectionDetected: v.InjectionDetected,
			PIIDetected: nonNil(v.PIITypes), PIIMatches: v.PIIMatches, Categories: nonNil(v.Categories), Score: v.Score,
		}
		if res.PIIMatches == nil {
			res.PIIMatches = map[string]int{}
		}
		if v.Blocked {
			rep.Blocked++
			if v.InjectionDetected {
				rep.InjectionAttemptsBlocked++
			}
		} else {
			rep.Passed++
		}
		if len(v.PIITypes) > 0 && (v.Blocked || string(g.cfg.Guard.PIIAction) == "redact") {
			rep.PIILeaksPrevented++
		}
		rep.Results = append(rep.Results, res)
	}
	writeJSON(w, http.StatusOK, rep)
}

type resilienceResult struct {
	Prompt      string           `json:"prompt"`
	Status      string           `json:"status"`
	Provider    *string          `json:"provider"`
	Model       *string          `json:"model"`
	LatencyMS   int64            `json:"latency_ms"`
	CascadePath []providers.Step `json:"cascade_path"`
	Usage       *usageJSON       `json:"usage"`
	Cost        *float64         `json:"cost_estimate_usd"`
	Error       *string          `json:"error"`
}

type resilienceReport struct {
	Total                int                `json:"total"`
	Succeeded            int                `json:"succeeded"`
	Failed               int                `json:"failed"`
	SuccessRate          float64            `json:"success_rate"`
	AvgLatencyMS         float64            `json:"avg_latency_ms"`
	ProviderDistribution map[string]int     `json:"provider_distribution"`
	TotalCostUSD         float64            `json:"total_cost_usd"`
	Results              []resilienceResult `json:"results"`
	RequestID            string             `json:"request_id"`
}

// batchResilience sends up to 10 prompts through the guard and the cascade,
// three at a time, and reports aggregate figures. Each prompt spends one
// request of the caller's rate limit.
func (g *Gateway) batchResilience(w http.ResponseWriter, r *http.Request) {
	var req BatchResilienceRequest
	if !g.admit(w, r, func(b *body) int {
		req.Prompts = b.strList("prompts")
		req.MaxTokens = b.integer("max_tokens", 256)
		req.Temperature = b.number("temperature", 0.7)
		b.checkStruct(&req, "prompts", "max_tokens", "temperature")
		return len(req.Prompts)
	}) {
		return
	}
	results := make([]resilienceResult, len(req.Prompts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 3)
	var allSteps [][]providers.Step
	var mu sync.Mutex
	for i, p := range req.Prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			res := g.resilienceOne(r, p, req.MaxTokens, req.Temperature)
			results[i] = res
			mu.Lock()
			allSteps = append(allSteps, res.CascadePath)
			mu.Unlock()
		}()
	}
	wg.Wait()
	rep := resilienceReport{Total: len(results), Results: results, ProviderDistribution: map[string]int{}, RequestID: requestID(r.Context())}
	var latSum int64
	for _, res := range results {
		latSum += res.LatencyMS
		if res.Status == "success" {
			rep.Succeeded++
			rep.ProviderDistribution[*res.Provider]++
			if res.Cost != nil {
				rep.TotalCostUSD += *res.Cost
			}
		} else {
			rep.Failed++
		}
	}
	if rep.Total > 0 {
		rep.SuccessRate = float64(rep.Succeeded) / float64(rep.Total)
		rep.AvgLatencyMS = float64(latSum) / float64(rep.Total)
	}
	s := state(r.Context())
	for _, st := range allSteps {
		s.steps = append(s.steps, st...)
	}
	writeJSON(w, http.StatusOK, rep)
}

func (g *Gateway) resilienceOne(r *http.Request, prompt string, maxTokens int, temp float64) resilienceResult {
	start := time.Now()
	out := resilienceResult{Prompt: truncatePrompt(prompt), CascadePath: []providers.Step{}}
	v := g.guard.Scan(prompt)
	if v.Blocked {
		out.Status = "blocked"
		out.Error = strp("Request blocked by input guard")
		out.LatencyMS = latencyMS(start)
		return out
	}
	o := g.complete(r.Context(), providers.Request{
		Messages:  []providers.Message{{Role: "user", Content: v.Redacted[0]}},
		MaxTokens: maxTokens, Temperature: &temp, RequestID: requestID(r.Context()),
	})
	out.LatencyMS = latencyMS(start)
	switch {
	case o.safetyRan && o.safety.Flagged:
		out.Status, out.Error = "blocked", strp("Request blocked by safety check")
	case o.err != nil:
		out.Status = "error"
		var ce *providers.CascadeError
		if errors.As(o.err, &ce) {
			out.CascadePath = nonNil(ce.Steps)
		}
		out.Error = strp(o.err.Error())
	default:
		u := o.result.Response.Usage
		out.Status = "success"
		out.Provider, out.Model = strp(o.result.Provider), strp(o.result.Model)
		out.CascadePath = o.result.Steps
		out.Usage = &usageJSON{u.PromptTokens, u.CompletionTokens, u.TotalTokens}
		out.Cost = o.result.CostUSD
	}
	return out
}
