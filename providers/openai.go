package providers

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"
)

// Defaults for the OpenAI-compatible providers (reference/providers.md §2).
const (
	NameGroq       = "groq"
	NameOpenRouter = "openrouter"

	DefaultGroqBaseURL       = "https://api.groq.com/openai/v1"
	DefaultOpenRouterBaseURL = "https://openrouter.ai/api/v1"

	// Groq decommissioned the llama-3.x IDs on 2026-08-16 and names the
	// gpt-oss models as their replacement.
	DefaultGroqModel = "openai/gpt-oss-20b"
	// The same open weights as the Groq default, so a fallback answers in the
	// same style, served free by OpenRouter. Free variants come and go: this
	// is a default for OPENROUTER_MODEL, not a promise; any ":free" model
	// costs 0 in the pricing table.
	DefaultOpenRouterModel = "openai/gpt-oss-20b:free"

	// OpenRouter app attribution (§2.1): X-OpenRouter-Title is the current
	// header, X-Title the legacy alias it still honours.
	DefaultOpenRouterReferer = "https://github.com/llm-secure-gateway/gateway"
	DefaultOpenRouterTitle   = "LLM Secure Gateway"
)

// Request field names for Request.MaxTokens.
const (
	MaxCompletionTokensField = "max_completion_tokens" // OpenAI's current name; Groq prefers it
	MaxTokensField           = "max_tokens"            // OpenRouter documents this one
)

// OpenAIConfig configures an OpenAI-compatible chat completions endpoint. A
// new compatible provider needs only a new OpenAIConfig.
type OpenAIConfig struct {
	Name         string
	BaseURL      string // up to and including the version, e.g. https://api.groq.com/openai/v1
	Model        string
	Key          KeySource
	Headers      map[string]string // extra request headers (attribution); cannot replace auth
	HTTPClient   *http.Client
	MaxBodyBytes int64 // upstream body cap; 0 means DefaultMaxBodyBytes

	// MaxTokensField is MaxCompletionTokensField (default) or MaxTokensField.
	MaxTokensField string
	// ReasoningEffort is sent as reasoning_effort when set ("low" keeps a
	// reasoning model from spending a small max_tokens on thinking).
	ReasoningEffort string
	// KeyOptional lets an endpoint without auth (a local Ollama or vLLM) be
	// called with no Authorization header when no key is configured.
	KeyOptional bool
}

// OpenAICompatible is one chat completions endpoint (Groq, OpenRouter, ...).
type OpenAICompatible struct {
	name            string
	model           string
	endpoint        string
	key             KeySource
	headers         map[string]string
	client          *http.Client
	maxBody         int64
	maxField        string
	reasoningEffort string
	autoEffort      bool // reasoningEffort was chosen for the model, not configured
	keyOptional     bool
}

// NewOpenAICompatible builds a client from cfg as given (no provider defaults).
func NewOpenAICompatible(cfg OpenAIConfig) *OpenAICompatible {
	return newOpenAI(cfg, false)
}

func newOpenAI(cfg OpenAIConfig, autoEffort bool) *OpenAICompatible {
	if autoEffort {
		cfg.ReasoningEffort = defaultEffort(cfg.Model)
	}
	field := cfg.MaxTokensField
	if field != MaxTokensField {
		field = MaxCompletionTokensField
	}
	return &OpenAICompatible{
		name:            cfg.Name,
		model:           cfg.Model,
		endpoint:        strings.TrimRight(cfg.BaseURL, "/") + "/chat/completions",
		key:             cfg.Key,
		keyOptional:     cfg.KeyOptional,
		headers:         maps.Clone(cfg.Headers),
		client:          clientOrDefault(cfg.HTTPClient),
		maxBody:         cfg.MaxBodyBytes,
		maxField:        field,
		reasoningEffort: cfg.ReasoningEffort,
		autoEffort:      autoEffort,
	}
}

// NewGroq fills Groq's defaults into cfg's empty fields.
func NewGroq(cfg OpenAIConfig) *OpenAICompatible {
	cfg.Name = cmp.Or(cfg.Name, NameGroq)
	cfg.BaseURL = cmp.Or(cfg.BaseURL, DefaultGroqBaseURL)
	cfg.Model = cmp.Or(cfg.Model, DefaultGroqModel)
	cfg.MaxTokensField = cmp.Or(cfg.MaxTokensField, MaxCompletionTokensField)
	return newOpenAI(cfg, cfg.ReasoningEffort == "")
}

// OpenAI's own endpoint through the same client. The default model is a
// small, cheap one; like every model name it is configuration (OPENAI_MODEL).
const (
	NameOpenAI           = "openai"
	DefaultOpenAIBaseURL = "https://api.openai.com/v1"
	DefaultOpenAIModel   = "gpt-4o-mini"
)

// NewOpenAI fills OpenAI's defaults into cfg's empty fields.
func NewOpenAI(cfg OpenAIConfig) *OpenAICompatible {
	cfg.Name = cmp.Or(cfg.Name, NameOpenAI)
	cfg.BaseURL = cmp.Or(cfg.BaseURL, DefaultOpenAIBaseURL)
	cfg.Model = cmp.Or(cfg.Model, DefaultOpenAIModel)
	cfg.MaxTokensField = cmp.Or(cfg.MaxTokensField, MaxCompletionTokensField)
	return newOpenAI(cfg, cfg.ReasoningEffort == "")
}

// NewOpenRouter fills OpenRouter's defaults, including the attribution
// headers, into cfg's empty fields. cfg.Headers is not modified.
func NewOpenRouter(cfg OpenAIConfig) *OpenAICompatible {
	cfg.Name = cmp.Or(cfg.Name, NameOpenRouter)
	cfg.BaseURL = cmp.Or(cfg.BaseURL, DefaultOpenRouterBaseURL)
	cfg.Model = cmp.Or(cfg.Model, DefaultOpenRouterModel)
	cfg.MaxTokensField = cmp.Or(cfg.MaxTokensField, MaxTokensField)
	h := make(map[string]string, len(cfg.Headers)+3)
	for k, v := range cfg.Headers {
		h[http.CanonicalHeaderKey(k)] = v
	}
	title := cmp.Or(h[http.CanonicalHeaderKey("X-OpenRouter-Title")], h["X-Title"], DefaultOpenRouterTitle)
	for k, v := range map[string]string{
		"HTTP-Referer":       DefaultOpenRouterReferer,
		"X-OpenRouter-Title": title,
		"X-Title":            title,
	} {
		if _, ok := h[http.CanonicalHeaderKey(k)]; !ok {
			h[http.CanonicalHeaderKey(k)] = v
		}
	}
	cfg.Headers = h
	return newOpenAI(cfg, cfg.ReasoningEffort == "")
}

// defaultEffort: gpt-oss reasons by default and counts reasoning against the
// completion budget, so the gateway's default 256 tokens could end empty.
func defaultEffort(model string) string {
	if strings.Contains(model, "gpt-oss") {
		return "low"
	}
	return ""
}

func (o *OpenAICompatible) Name() string  { return o.name }
func (o *OpenAICompatible) Model() string { return o.model }

// WithModel returns a copy of o that calls model instead, for a request that
// names its model. A reasoning effort chosen for the old model is re-chosen.
func (o *OpenAICompatible) WithModel(model string) Provider {
	c := *o
	c.model = model
	if c.autoEffort {
		c.reasoningEffort = defaultEffort(model)
	}
	return &c
}

// Wire types (providers.md §2.2, §2.3, §2.5). Groq rejects logprobs,
// logit_bias, top_logprobs, messages[].name and n != 1, so none exist here.
type (
	oaRequest struct {
		Model               string      `json:"model"`
		Messages            []oaMessage `json:"messages"`
		MaxCompletionTokens int         `json:"max_completion_tokens,omitempty"`
		MaxTokens           int         `json:"max_tokens,omitempty"`
		Temperature         *float64    `json:"temperature,omitempty"`
		TopP                *float64    `json:"top_p,omitempty"`
		Stop                []string    `json:"stop,omitempty"`
		User                string      `json:"user,omitempty"`
		ReasoningEffort     string      `json:"reasoning_effort,omitempty"`
	}
	oaMessage struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}

	oaResponse struct {
		Model   string     `json:"model"`
		Choices []oaChoice `json:"choices"`
		Usage   *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		} `json:"usage"`
		Error *oaError `json:"error"`
	}
	oaChoice struct {
		Message struct {
			Content oaContent `json:"content"`
			Refusal *string   `json:"refusal"`
		} `json:"message"`
		FinishReason *string  `json:"finish_reason"`
		Error        *oaError `json:"error"`
	}
	oaErrorBody struct {
		Error *oaError `json:"error"`
	}
	// oaError covers both shapes: OpenAI/Groq (string code, type) and
	// OpenRouter (numeric code, metadata). message is not decoded on purpose:
	// OpenRouter's can quote the flagged prompt.
	oaError struct {
		Code     json.RawMessage `json:"code"`
		Type     string          `json:"type"`
		Metadata *struct {
			Reasons      []string        `json:"reasons"`
			FlaggedInput json.RawMessage `json:"flagged_input"`
		} `json:"metadata"`
	}
)

// oaContent accepts content as a string, null, or an array of text parts
// (some OpenRouter upstreams answer with parts).
type oaContent string

func (c *oaContent) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = oaContent(s)
	case len(b) > 0 && b[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var sb strings.Builder
		for _, p := range parts {
			if p.Type == "" || p.Type == "text" {
				sb.WriteString(p.Text)
			}
		}
		*c = oaContent(sb.String())
	}
	return nil
}

// code returns a string code, or "" for OpenRouter's numeric ones (they
// repeat the HTTP status).
func (e *oaError) code() string {
	if e == nil {
		return ""
	}
	if len(e.Code) > 0 && e.Code[0] == '"' {
		var s string
		if json.Unmarshal(e.Code, &s) == nil && s != "" {
			return safeCode(s)
		}
	}
	return safeCode(e.Type)
}

// moderation reports OpenRouter's moderation block (403 with reasons or
// flagged_input) and its categories.
func (e *oaError) moderation() ([]string, bool) {
	if e == nil || e.Metadata == nil {
		return nil, false
	}
	m := e.Metadata
	flagged := len(m.FlaggedInput) > 0 && !bytes.Equal(m.FlaggedInput, []byte("null"))
	if len(m.Reasons) == 0 && !flagged {
		return nil, false
	}
	var cats []string
	for _, r := range m.Reasons {
		if c := safeCategory(r); c != "" {
			cats = append(cats, c)
		}
	}
	if len(cats) == 0 {
		cats = []string{"moderation"}
	}
	return cats, true
}

// Complete calls chat/completions once (non-streaming).
func (o *OpenAICompatible) Complete(ctx context.Context, req Request) (*Response, error) {
	key, err := o.currentKey(ctx)
	if err != nil {
		return nil, err
	}
	up, err := postJSON(ctx, o.client, o.name, o.endpoint, o.header(key), o.buildRequest(req), o.maxBody)
	if err != nil {
		return nil, err
	}
	if up.status < 200 || up.status > 299 {
		return nil, openAIStatusError(o.name, up, time.Now())
	}
	resp, err := decodeOpenAI(o.name, up.body)
	if err == nil && resp.Model == "" {
		resp.Model = o.model
	}
	return resp, err
}

func (o *OpenAICompatible) buildRequest(req Request) *oaRequest {
	out := &oaRequest{
		Model:           o.model,
		Messages:        make([]oaMessage, len(req.Messages)),
		Temperature:     req.Temperature,
		TopP:            req.TopP,
		Stop:            req.Stop,
		User:            req.User,
		ReasoningEffort: o.reasoningEffort,
	}
	for i, m := range req.Messages {
		role := m.Role
		if role != "system" && role != "assistant" {
			role = "user"
		}
		out.Messages[i] = oaMessage{Role: role, Content: m.Content}
	}
	if o.maxField == MaxTokensField {
		out.MaxTokens = req.MaxTokens
	} else {
		out.MaxCompletionTokens = req.MaxTokens
	}
	return out
}

func decodeOpenAI(name string, body []byte) (*Response, error) {
	var r oaResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: name, Kind: KindMalformed, Status: http.StatusOK, Message: "malformed response", Err: err}
	}
	// OpenRouter answers 200 once a model has started and reports a later
	// failure in the body (gotcha 1).
	if r.Error != nil {
		return nil, &Error{Provider: name, Kind: KindBody, Status: http.StatusOK, Code: r.Error.code(), Message: "error in response body"}
	}
	resp := &Response{Model: r.Model}
	if u := r.Usage; u != nil {
		resp.Usage = Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens, Reported: true}
		if resp.Usage.TotalTokens == 0 {
			resp.Usage.TotalTokens = u.PromptTokens + u.CompletionTokens
		}
	}
	if len(r.Choices) == 0 {
		return nil, &Error{Provider: name, Kind: KindEmpty, Status: http.StatusOK, Message: "empty response"}
	}
	c := r.Choices[0]
	finish := ""
	if c.FinishReason != nil {
		finish = *c.FinishReason
	}
	if c.Error != nil || finish == "error" {
		return nil, &Error{Provider: name, Kind: KindBody, Status: http.StatusOK, Code: c.Error.code(), Message: "error in response body"}
	}
	resp.Text = string(c.Message.Content)
	if resp.Text == "" && c.Message.Refusal != nil {
		// A refusal is the model's answer, not a provider failure.
		resp.Text = *c.Message.Refusal
	}
	resp.FinishReason = cmp.Or(finish, "stop")
	if resp.Text == "" {
		switch finish {
		case "content_filter":
			return nil, safetyError(name, finish, []string{"content_filter"})
		case "length":
			return nil, &Error{Provider: name, Kind: KindEmpty, Status: http.StatusOK, Code: finish, Message: "empty response (max tokens reached)"}
		}
		return nil, &Error{Provider: name, Kind: KindEmpty, Status: http.StatusOK, Code: safeCode(finish), Message: "empty response"}
	}
	return resp, nil
}

// openAIStatusError classifies a non-2xx answer of either error shape.
func openAIStatusError(name string, up *upstream, now time.Time) *Error {
	e := &Error{Provider: name, Kind: KindStatus, Status: up.status, RetryAfter: retryAfter(up.header, now)}
	var body oaErrorBody
	if json.Unmarshal(up.body, &body) == nil && body.Error != nil {
		e.Code = body.Error.code()
		if cats, ok := body.Error.moderation(); ok && up.status == http.StatusForbidden {
			e.Kind = KindSafety
			e.Categories = cats
			e.Code = cmp.Or(e.Code, "moderation")
			e.Message = ErrSafetyBlocked.Error()
			return e
		}
	}
	if isAuthStatus(up.status) {
		e.Kind = KindAuth
	}
	e.Message = statusMessage(up.status, e.Code)
	e.Err = errors.New(e.Message)
	return e
}

// currentKey is the key to send; "" only for a KeyOptional endpoint that has
// none configured.
func (o *OpenAICompatible) currentKey(ctx context.Context) (string, error) {
	if o.keyOptional {
		if o.key == nil {
			return "", nil
		}
		if k, err := o.key.Key(ctx); err == nil && k == "" {
			return "", nil
		}
	}
	return keyFor(ctx, o.name, o.key)
}
