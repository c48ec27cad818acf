package providers

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Gemini defaults; see reference/providers.md §1 and §1.8 for why
// gemini-2.5-flash-lite (2.0 is shut down, 2.5-flash is being retired).
const (
	NameGemini           = "gemini"
	DefaultGeminiBaseURL = "https://generativelanguage.googleapis.com"
	DefaultGeminiModel   = "gemini-2.5-flash-lite"
)

// GeminiConfig configures the native Gemini generateContent client.
type GeminiConfig struct {
	BaseURL      string // scheme://host[/prefix]; "/v1beta/models/..." is appended
	Model        string
	Key          KeySource
	HTTPClient   *http.Client
	MaxBodyBytes int64 // upstream body cap; 0 means DefaultMaxBodyBytes
}

// Gemini speaks Google's Gemini API (Developer API, v1beta).
type Gemini struct {
	base        string
	model       string
	endpoint    string
	key         KeySource
	client      *http.Client
	maxBody     int64
	thinkingOff bool
}

// NewGemini builds the client; empty BaseURL and Model take the defaults.
func NewGemini(cfg GeminiConfig) *Gemini {
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultGeminiBaseURL
	}
	if !strings.HasSuffix(base, "/v1beta") {
		base += "/v1beta"
	}
	model := strings.TrimPrefix(cfg.Model, "models/")
	if model == "" {
		model = DefaultGeminiModel
	}
	return &Gemini{
		base:     base,
		model:    model,
		endpoint: base + "/models/" + url.PathEscape(model) + ":generateContent",
		key:      cfg.Key,
		client:   clientOrDefault(cfg.HTTPClient),
		maxBody:  cfg.MaxBodyBytes,
		// 2.5 Flash and Flash-Lite think by default and maxOutputTokens
		// includes the thinking, so a small max_tokens yields MAX_TOKENS with
		// no text (providers.md gotcha 7). Only these models accept budget 0:
		// 2.5 Pro cannot disable thinking and 3.x rejects thinkingBudget.
		thinkingOff: strings.HasPrefix(model, "gemini-2.5-flash"),
	}
}

func (g *Gemini) Name() string  { return NameGemini }
func (g *Gemini) Model() string { return g.model }

// WithModel returns a copy of g that calls model instead (same key, client
// and limits), for a request that names its model.
func (g *Gemini) WithModel(model string) Provider {
	return NewGemini(GeminiConfig{BaseURL: g.base, Model: model, Key: g.key, HTTPClient: g.client, MaxBodyBytes: g.maxBody})
}

// Wire types (providers.md §1.2, §1.3, §1.6).
type (
	geminiRequest struct {
		Contents          []geminiContent `json:"contents"`
		SystemInstruction *geminiContent  `json:"systemInstruction,omitempty"`
		GenerationConfig  geminiGenConfig `json:"generationConfig"`
	}
	geminiContent struct {
		Role  string       `json:"role,omitempty"`
		Parts []geminiPart `json:"parts"`
	}
	geminiPart struct {
		Text         string          `json:"text,omitempty"`
		Thought      bool            `json:"thought,omitempty"`
		FunctionCall json.RawMessage `json:"functionCall,omitempty"`
	}
	geminiGenConfig struct {
		MaxOutputTokens int             `json:"maxOutputTokens,omitempty"`
		Temperature     *float64        `json:"temperature,omitempty"`
		TopP            *float64        `json:"topP,omitempty"`
		StopSequences   []string        `json:"stopSequences,omitempty"`
		CandidateCount  int             `json:"candidateCount,omitempty"`
		ThinkingConfig  *geminiThinking `json:"thinkingConfig,omitempty"`
	}
	geminiThinking struct {
		ThinkingBudget int `json:"thinkingBudget"`
	}

	geminiResponse struct {
		Candidates     []geminiCandidate `json:"candidates"`
		PromptFeedback *struct {
			BlockReason   string         `json:"blockReason"`
			SafetyRatings []geminiRating `json:"safetyRatings"`
		} `json:"promptFeedback"`
		UsageMetadata *struct {
			PromptTokenCount        int `json:"promptTokenCount"`
			CandidatesTokenCount    int `json:"candidatesTokenCount"`
			ThoughtsTokenCount      int `json:"thoughtsTokenCount"`
			ToolUsePromptTokenCount int `json:"toolUsePromptTokenCount"`
			TotalTokenCount         int `json:"totalTokenCount"`
		} `json:"usageMetadata"`
		ModelVersion string          `json:"modelVersion"`
		Error        *googleRPCError `json:"error"`
	}
	geminiCandidate struct {
		Content *struct {
			Parts []geminiPart `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
		// Decoded only for a safety stop: on the hot path it is skipped.
		SafetyRatings json.RawMessage `json:"safetyRatings"`
	}
	geminiRating struct {
		Category    string `json:"category"`
		Probability string `json:"probability"`
		Blocked     bool   `json:"blocked"`
	}

	googleErrorBody struct {
		Error *googleRPCError `json:"error"`
	}
	googleRPCError struct {
		Code    int    `json:"code"`
		Status  string `json:"status"`
		Details []struct {
			Type       string `json:"@type"`
			Reason     string `json:"reason"`
			RetryDelay string `json:"retryDelay"`
		} `json:"details"`
		// message is deliberately not decoded: it is free text that may
		// quote the request, and nothing downstream may show it.
	}
)

// Complete calls generateContent once.
func (g *Gemini) Complete(ctx context.Context, req Request) (*Response, error) {
	h, err := g.header(ctx)
	if err != nil {
		return nil, err
	}
	up, err := postJSON(ctx, g.client, NameGemini, g.endpoint, h, g.buildRequest(req), g.maxBody)
	if err != nil {
		return nil, err
	}
	if up.status < 200 || up.status > 299 {
		return nil, geminiStatusError(up, time.Now())
	}
	resp, err := decodeGemini(up.body)
	if err == nil && resp.Model == "" {
		resp.Model = g.model
	}
	return resp, err
}

// header carries the key for both generateContent and its streaming twin.
func (g *Gemini) header(ctx context.Context) (http.Header, error) {
	key, err := keyFor(ctx, NameGemini, g.key)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 4)
	// Header only: a ?key= query would surface in *url.Error strings and logs.
	h.Set("x-goog-api-key", key)
	h.Set("User-Agent", userAgent)
	return h, nil
}

func (g *Gemini) buildRequest(req Request) *geminiRequest {
	out := &geminiRequest{Contents: make([]geminiContent, 0, len(req.Messages))}
	var system []geminiPart
	for _, m := range req.Messages {
		switch m.Role {
		case "system", "developer":
			system = append(system, geminiPart{Text: m.Content})
		case "assistant", "model":
			out.Contents = append(out.Contents, geminiContent{Role: "model", Parts: []geminiPart{{Text: m.Content}}})
		default:
			out.Contents = append(out.Contents, geminiContent{Role: "user", Parts: []geminiPart{{Text: m.Content}}})
		}
	}
	switch {
	case len(out.Contents) == 0 && len(system) > 0:
		// Gemini rejects a request without contents; a system-only request is
		// still a question, so ask it as the user turn.
		out.Contents = append(out.Contents, geminiContent{Role: "user", Parts: system})
	case len(system) > 0:
		out.SystemInstruction = &geminiContent{Parts: system}
	}
	out.GenerationConfig = geminiGenConfig{
		MaxOutputTokens: req.MaxTokens,
		Temperature:     req.Temperature,
		TopP:            req.TopP,
		StopSequences:   req.Stop,
		CandidateCount:  1,
	}
	if g.thinkingOff {
		out.GenerationConfig.ThinkingConfig = &geminiThinking{ThinkingBudget: 0}
	}
	return out
}

// decodeGemini turns a 200 body into a Response or a classified *Error.
func decodeGemini(body []byte) (*Response, error) {
	var r geminiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: NameGemini, Kind: KindMalformed, Status: http.StatusOK, Message: "malformed response", Err: err}
	}
	if r.Error != nil {
		return nil, &Error{Provider: NameGemini, Kind: KindBody, Status: http.StatusOK, Code: safeCode(r.Error.Status), Message: "error in response body"}
	}
	if err := r.promptBlocked(); err != nil {
		return nil, err
	}

	resp := &Response{Model: r.ModelVersion}
	if u := r.usage(); u != nil {
		resp.Usage = *u
	}
	if len(r.Candidates) == 0 {
		return nil, &Error{Provider: NameGemini, Kind: KindEmpty, Status: http.StatusOK, Message: "empty response"}
	}
	c := &r.Candidates[0]
	if err := c.safetyStop(); err != nil {
		return nil, err
	}
	var toolCall bool
	resp.Text, toolCall = c.text()
	// A whole answer has ended even when the candidate names no reason.
	resp.FinishReason = geminiFinishReason(cmp.Or(c.FinishReason, "STOP"), toolCall)
	if resp.Text == "" {
		msg := "empty response"
		if c.FinishReason == "MAX_TOKENS" {
			// Typically thinking consumed the whole budget.
			msg = "empty response (max tokens reached)"
		}
		return nil, &Error{Provider: NameGemini, Kind: KindEmpty, Status: http.StatusOK, Code: safeCode(c.FinishReason), Message: msg}
	}
	return resp, nil
}

// promptBlocked is the safety error for a prompt Gemini refused outright,
// nil otherwise.
func (r *geminiResponse) promptBlocked() *Error {
	if pf := r.PromptFeedback; pf != nil && pf.BlockReason != "" {
		return safetyError(NameGemini, pf.BlockReason, geminiCategories(pf.SafetyRatings, pf.BlockReason))
	}
	return nil
}

// usage is the reported token accounting, nil when there is none.
func (r *geminiResponse) usage() *Usage {
	u := r.UsageMetadata
	if u == nil {
		return nil
	}
	out := &Usage{
		PromptTokens: u.PromptTokenCount + u.ToolUsePromptTokenCount,
		// Thinking is billed as output (providers.md §1.4).
		CompletionTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
		TotalTokens:      u.TotalTokenCount,
		Reported:         true,
	}
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	return out
}

// safetyStop is the safety error for a candidate stopped by a filter, nil
// otherwise.
func (c *geminiCandidate) safetyStop() *Error {
	if !geminiSafetyFinish(c.FinishReason) {
		return nil
	}
	var ratings []geminiRating
	_ = json.Unmarshal(c.SafetyRatings, &ratings) // best effort: the reason stands in
	return safetyError(NameGemini, c.FinishReason, geminiCategories(ratings, c.FinishReason))
}

// text joins the candidate's answer parts (thoughts are not the answer) and
// reports whether it asked for a tool.
func (c *geminiCandidate) text() (text string, toolCall bool) {
	if c.Content == nil {
		return "", false
	}
	for _, p := range c.Content.Parts {
		if p.Thought {
			continue
		}
		if len(p.FunctionCall) > 0 {
			toolCall = true
		}
		// One text part is the norm: concatenating onto "" does not copy.
		text += p.Text
	}
	return text, toolCall
}

// geminiFinishReason maps a finishReason to OpenAI's vocabulary ("" stays
// "": not finished yet).
func geminiFinishReason(reason string, toolCall bool) string {
	switch {
	case reason == "":
		return ""
	case toolCall:
		return "tool_calls"
	case reason == "MAX_TOKENS":
		return "length"
	}
	return "stop"
}

func geminiSafetyFinish(reason string) bool {
	switch reason {
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII":
		return true
	}
	return strings.HasPrefix(reason, "IMAGE_") && reason != "IMAGE_OTHER"
}

// geminiCategories lists the harm categories that caused a block: ratings
// marked blocked or rated HIGH; if none is, the block reason itself.
func geminiCategories(ratings []geminiRating, reason string) []string {
	var cats []string
	for _, r := range ratings {
		if !r.Blocked && r.Probability != "HIGH" {
			continue
		}
		if c := safeCategory(strings.TrimPrefix(r.Category, "HARM_CATEGORY_")); c != "" {
			cats = append(cats, c)
		}
	}
	if len(cats) == 0 {
		if c := safeCategory(reason); c != "" {
			cats = append(cats, c)
		} else {
			cats = append(cats, "safety")
		}
	}
	return cats
}

func safetyError(provider, reason string, categories []string) *Error {
	return &Error{
		Provider:   provider,
		Kind:       KindSafety,
		Status:     http.StatusOK,
		Code:       safeCode(reason),
		Message:    ErrSafetyBlocked.Error(),
		Categories: categories,
	}
}

// geminiStatusError classifies a non-2xx Google RPC error answer.
func geminiStatusError(up *upstream, now time.Time) *Error {
	e := &Error{Provider: NameGemini, Kind: KindStatus, Status: up.status}
	if rpc := parseGoogleError(up.body); rpc != nil {
		e.Code = safeCode(rpc.Status)
		for _, d := range rpc.Details {
			switch {
			case strings.HasSuffix(d.Type, "google.rpc.RetryInfo"):
				// A protobuf Duration string ("21s", "0.5s") parses as a Go duration.
				if dur, err := time.ParseDuration(d.RetryDelay); err == nil && dur > 0 {
					e.RetryAfter = dur
				}
			case strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") && d.Reason == "API_KEY_INVALID":
				// Gemini answers a bad key with 400, not 401 (gotcha 3).
				e.Kind = KindAuth
				e.Code = d.Reason
			}
		}
	}
	if e.RetryAfter == 0 {
		e.RetryAfter = retryAfter(up.header, now)
	}
	if isAuthStatus(up.status) {
		e.Kind = KindAuth
	}
	e.Message = statusMessage(up.status, e.Code)
	e.Err = errors.New(e.Message)
	return e
}

// parseGoogleError accepts the usual {"error":{...}} and the array form some
// Google front ends send ([{"error":{...}}]); anything else yields nil.
func parseGoogleError(body []byte) *googleRPCError {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil
	}
	if body[0] == '[' {
		var arr []googleErrorBody
		if json.Unmarshal(body, &arr) != nil || len(arr) == 0 {
			return nil
		}
		return arr[0].Error
	}
	var b googleErrorBody
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	return b.Error
}
