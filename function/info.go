package function

import (
	"net/http"
	"time"

	"github.com/llm-secure-gateway/gateway/function/safety"
	"github.com/llm-secure-gateway/gateway/function/web"
	"github.com/llm-secure-gateway/gateway/providers"
)

func (g *Gateway) routesSetup() {
	g.handle("GET", "/health", g.health)
	g.handle("POST", "/query", g.query)
	g.handle("GET", "/providers", g.providersInfo)
	g.handle("GET", "/metrics", g.metricsInfo)
	g.handle("POST", "/v1/chat/completions", g.chatCompletions)
	g.handle("GET", "/v1/models", g.models)
	g.handle("POST", "/check-toxicity", g.checkToxicity)
	g.handle("POST", "/batch/security", g.batchSecurity)
	g.handle("POST", "/batch/resilience", g.batchResilience)
	g.handle("GET", "/{$}", web.DashboardHandler().ServeHTTP)
	g.handle("GET", "/docs", web.DocsHandler().ServeHTTP)
	g.handle("GET", "/openapi.json", web.OpenAPIHandler().ServeHTTP)
}

type healthResponse struct {
	Status    string                     `json:"status"`
	Provider  *string                    `json:"provider"`
	Model     *string                    `json:"model"`
	Timestamp float64                    `json:"timestamp"`
	Providers []providers.ProviderHealth `json:"providers"`
}

// health reports "healthy", or "degraded" while a provider cools down on
// this instance but another is usable, or "down" when every provider is
// cooling (requests still try them as a last resort). It answers 200 in all
// three: the instance itself is serving.
func (g *Gateway) health(w http.ResponseWriter, r *http.Request) {
	resp := healthResponse{Status: "healthy", Timestamp: float64(time.Now().UnixMicro()) / 1e6, Providers: g.cascade.Health()}
	usable := 0
	for _, h := range resp.Providers {
		if h.Usable() {
			usable++
		}
	}
	switch {
	case usable == 0 && len(resp.Providers) > 0:
		resp.Status = "down"
	case usable < len(resp.Providers):
		resp.Status = "degraded"
	}
	if active := g.cfg.ActiveProviders(); len(active) > 0 {
		resp.Provider, resp.Model = strp(active[0].Name), strp(active[0].Model)
	}
	writeJSON(w, http.StatusOK, resp)
}

type priceJSON struct {
	InputPerMTok  float64 `json:"input_per_mtok"`
	OutputPerMTok float64 `json:"output_per_mtok"`
}

type providerInfo struct {
	Name    string     `json:"name"`
	Model   string     `json:"model"`
	Active  bool       `json:"active"`
	BaseURL string     `json:"base_url,omitempty"`
	Pricing *priceJSON `json:"pricing"`
}

type providersResponse struct {
	Providers       []providerInfo `json:"providers"`
	ActiveProviders []string       `json:"active_providers"`
	ActiveModels    []string       `json:"active_models"`
	Order           []string       `json:"order"`
	Demo            bool           `json:"demo,omitempty"`
}

// providersInfo lists providers, models and prices; it never holds a key.
func (g *Gateway) providersInfo(w http.ResponseWriter, r *http.Request) {
	resp := providersResponse{Providers: []providerInfo{}, ActiveProviders: []string{}, ActiveModels: []string{}, Order: nonNil(g.cfg.Order), Demo: g.cfg.Demo}
	for _, p := range g.cfg.Providers {
		info := providerInfo{Name: p.Name, Model: p.Model, Active: p.Active, BaseURL: p.BaseURL}
		if price, ok := g.cfg.Pricing.Price(p.Name, p.Model); ok {
			info.Pricing = &priceJSON{price.InputPerMTok, price.OutputPerMTok}
		}
		resp.Providers = append(resp.Providers, info)
		if p.Active {
			resp.ActiveProviders = append(resp.ActiveProviders, p.Name)
			resp.ActiveModels = append(resp.ActiveModels, p.Model)
		}
	}
	writeJSON(w, http.StatusOK, resp)
}

func (g *Gateway) metricsInfo(w http.ResponseWriter, r *http.Request) {
	snap := g.metrics.snapshot()
	snap.ProviderHealth = g.cascade.Health()
	writeJSON(w, http.StatusOK, snap)
}

type toxicityResponse struct {
	IsToxic           bool               `json:"is_toxic"`
	Scores            map[string]float64 `json:"scores"`
	BlockedCategories []string           `json:"blocked_categories"`
	Error             *string            `json:"error"`
	Checker           string             `json:"checker,omitempty"`
	LatencyMS         int64              `json:"latency_ms"`
	CostUSD           *float64           `json:"cost_estimate_usd"`
	RequestID         string             `json:"request_id"`
}

// checkToxicity classifies one text with the configured AI safety chain.
func (g *Gateway) checkToxicity(w http.ResponseWriter, r *http.Request) {
	var req ToxicityRequest
	if !g.admit(w, r, func(b *body) int {
		req.Text, _ = b.str("text", true)
		b.checkStruct(&req, "text")
		return 1
	}) {
		return
	}
	resp := toxicityResponse{Scores: map[string]float64{}, BlockedCategories: []string{}, RequestID: requestID(r.Context())}
	if !g.safety.Enabled() {
		resp.Error = strp("AI safety check is off (set SAFETY_CHECK to gemini and/or lakera)")
		writeJSON(w, http.StatusOK, resp)
		return
	}
	ctx := r.Context()
	v, err := g.safety.Check(ctx, []safety.Message{{Role: "user", Content: req.Text}})
	if err != nil {
		v = safety.Verdict{Err: "safety check failed"}
	}
	resp.IsToxic, resp.Checker, resp.LatencyMS, resp.CostUSD = v.Flagged, v.Checker, v.LatencyMS, v.CostUSD
	resp.BlockedCategories = nonNil(v.Categories)
	if v.Scores != nil {
		resp.Scores = v.Scores
	}
	if v.Err != "" {
		resp.Error = strp(v.Err)
	}
	s := state(ctx)
	s.safetyChecker, s.safetyFlagged, s.safetyMS = v.Checker, v.Flagged, v.LatencyMS
	writeJSON(w, http.StatusOK, resp)
}
