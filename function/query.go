package function

import (
	"errors"
	"net/http"
	"time"

	"github.com/llm-secure-gateway/gateway/function/guard"
	"github.com/llm-secure-gateway/gateway/providers"
)

type usageJSON struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// queryResponse is /query's body, success or failure, in the original
// service's field names.
type queryResponse struct {
	Response    *string          `json:"response"`
	Provider    *string          `json:"provider"`
	Model       *string          `json:"model,omitempty"`
	LatencyMS   int64            `json:"latency_ms"`
	Status      string           `json:"status"`
	Error       *string          `json:"error"`
	Detail      string           `json:"detail,omitempty"`
	CascadePath []providers.Step `json:"cascade_path"`
	Usage       *usageJSON       `json:"usage,omitempty"`
	Cost        *float64         `json:"cost_estimate_usd"`
	Guard       *guardReport     `json:"guard,omitempty"`
	Safety      *safetyReport    `json:"safety,omitempty"`
	RequestID   string           `json:"request_id"`
}

// guardReport tells the client what the input guard changed on the way.
type guardReport struct {
	Action   string   `json:"action"`
	PIITypes []string `json:"pii_types"`
}

type providerBlock struct {
	Detail      string           `json:"detail"`
	Provider    string           `json:"provider"`
	Categories  []string         `json:"categories"`
	CascadePath []providers.Step `json:"cascade_path"`
	RequestID   string           `json:"request_id"`
}

type safetyBlock struct {
	Detail     string        `json:"detail"`
	Categories []string      `json:"categories"`
	Safety     *safetyReport `json:"safety,omitempty"`
	RequestID  string        `json:"request_id"`
}

func strp(s string) *string { return &s }

func (g *Gateway) query(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req QueryRequest
	if !g.admit(w, r, func(b *body) int {
		req.Prompt, _ = b.str("prompt", true)
		req.MaxTokens = b.integer("max_tokens", 256)
		req.Temperature = b.number("temperature", 0.7)
		b.checkStruct(&req, "prompt", "max_tokens", "temperature")
		return 1
	}) {
		return
	}
	s := state(r.Context())
	if g.cfg.LogPrompts {
		s.prompt = req.Prompt
	}
	v := g.scan(r, req.Prompt)
	if v.Blocked {
		guardBlocked(w, r, v)
		return
	}
	temp := req.Temperature
	preq := providers.Request{
		Messages:    []providers.Message{{Role: "user", Content: v.Redacted[0]}},
		MaxTokens:   req.MaxTokens,
		Temperature: &temp,
		RequestID:   s.id,
	}
	o := g.complete(r.Context(), preq)
	g.noteOutcome(r, o)
	if o.safetyRan && o.safety.Flagged {
		writeJSON(w, http.StatusUnprocessableEntity, safetyBlock{Detail: "Request blocked by safety check",
			Categories: nonNil(o.safety.Categories), Safety: reportSafety(o), RequestID: s.id})
		return
	}
	if o.err != nil {
		g.cascadeFailed(w, r, o, start)
		return
	}
	res := o.result
	text, _ := g.outputText(res.Response.Text, v, nil)
	u := res.Response.Usage
	resp := queryResponse{
		Response: &text, Provider: strp(res.Provider), Model: strp(res.Model),
		LatencyMS: latencyMS(start), Status: "success", CascadePath: res.Steps,
		Usage: &usageJSON{u.PromptTokens, u.CompletionTokens, u.TotalTokens},
		Cost:  res.CostUSD, Safety: reportSafety(o), RequestID: s.id,
		Guard: reportGuard(g.cfg.Guard.PIIAction, v),
	}
	writeJSON(w, http.StatusOK, resp)
}

// outputText runs the output guard over an answer and, with PII_RESTORE,
// puts the client's own redacted values back. An answer that repeats a
// confidential system prompt is withheld: leaked reports it.
func (g *Gateway) outputText(text string, v guard.Verdict, confidential []string) (out string, leaked bool) {
	out, ov := g.guard.ScanOutput(text, confidential)
	if ov.Leaked {
		return withheld, true
	}
	if g.cfg.PIIRestore && len(v.Placeholders) > 0 {
		out = guard.Restore(out, v.Placeholders)
	}
	return out, false
}

// withheld replaces an answer the output guard stopped.
const withheld = "[answer withheld by the gateway: it repeated the confidential system prompt]"

func reportGuard(action guard.Action, v guard.Verdict) *guardReport {
	if len(v.PIITypes) == 0 {
		return nil
	}
	return &guardReport{Action: string(action), PIITypes: v.PIITypes}
}

// cascadeFailed answers /query when no provider gave an answer: 422 for a
// provider's own safety block, 504 when REQUEST_TIMEOUT ran out, 500 when
// every provider failed.
func (g *Gateway) cascadeFailed(w http.ResponseWriter, r *http.Request, o outcome, start time.Time) {
	s := state(r.Context())
	var ce *providers.CascadeError
	steps := []providers.Step{}
	if errors.As(o.err, &ce) {
		steps = nonNil(ce.Steps)
	}
	if ce != nil && ce.Blocked != nil {
		writeJSON(w, http.StatusUnprocessableEntity, providerBlock{
			Detail: "Request blocked by provider safety filter", Provider: ce.Blocked.Provider,
			Categories: nonNil(ce.Blocked.Categories), CascadePath: steps, RequestID: s.id})
		return
	}
	if ce != nil && ce.Canceled && r.Context().Err() != nil {
		// The client is gone; nobody reads this, but the log shows 499.
		writeDetail(w, r, 499, "Client Closed Request")
		return
	}
	status, msg := http.StatusInternalServerError, "All LLM providers failed"
	if errors.Is(o.err, providers.ErrDeadline) {
		status, msg = http.StatusGatewayTimeout, "Gateway timeout"
	}
	writeJSON(w, status, queryResponse{
		Status: "error", Error: strp(msg), Detail: msg, CascadePath: steps,
		LatencyMS: latencyMS(start), Safety: reportSafety(o), RequestID: s.id,
	})
}
