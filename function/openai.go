package function

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llm-secure-gateway/gateway/function/guard"
	"github.com/llm-secure-gateway/gateway/providers"
)

// OpenAI-compatible API: the same pipeline as /query behind OpenAI's request,
// response and error shapes, so the official SDKs work unchanged.

type oaiError struct {
	Error oaiErrorBody `json:"error"`
}

type oaiErrorBody struct {
	Message   string  `json:"message"`
	Type      string  `json:"type"`
	Param     *string `json:"param"`
	Code      *string `json:"code"`
	RequestID string  `json:"request_id,omitempty"`
}

func writeOAIError(w http.ResponseWriter, r *http.Request, status int, typ, code, msg string, param string) {
	body := oaiErrorBody{Message: msg, Type: typ, RequestID: requestID(r.Context())}
	if code != "" {
		body.Code = &code
	}
	if param != "" {
		body.Param = &param
	}
	writeJSON(w, status, oaiError{body})
}

func unauthorizedOAI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="llm-secure-gateway"`)
	writeOAIError(w, r, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "Invalid or missing API key", "")
}

func limitedOAI(w http.ResponseWriter, r *http.Request, msg string) {
	writeOAIError(w, r, http.StatusTooManyRequests, "rate_limit_error", "rate_limit_exceeded", msg, "")
}

// ChatMessage is one message of a chat request. Content may be a string or
// an array of parts; only text parts are accepted.
type ChatMessage struct {
	Role    string `json:"role" validate:"oneof=system developer user assistant"`
	Content string `json:"-" validate:"max=100000"`
}

// ChatRequest is the validated body of POST /v1/chat/completions.
type ChatRequest struct {
	Model        string        `json:"model"`
	Messages     []ChatMessage `json:"messages" validate:"min=1,max=256,dive"`
	MaxTokens    *int          `json:"max_tokens" validate:"omitempty,min=1,max=32768"`
	Temperature  *float64      `json:"temperature" validate:"omitempty,min=0,max=2"`
	TopP         *float64      `json:"top_p" validate:"omitempty,min=0,max=1"`
	Stop         []string      `json:"-" validate:"max=4,dive,max=256"`
	Stream       bool          `json:"stream"`
	IncludeUsage bool          `json:"-"`
	User         string        `json:"user" validate:"max=256"`
}

type rawChat struct {
	Model               string          `json:"model"`
	Messages            []rawMessage    `json:"messages"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	User string `json:"user"`
	N    *int   `json:"n"`
}

type rawMessage struct {
	Role    string      `json:"role"`
	Content chatContent `json:"content"`
}

// chatContent is a message's content decoded in the one pass of the outer
// decoder: OpenAI's string form, or an array of {"type":"text"} parts.
type chatContent struct {
	text string
	bad  bool // not a string or text parts: reported by parseChat
}

func (c *chatContent) UnmarshalJSON(b []byte) error {
	if s, ok := jsonString(b); ok {
		c.text = s
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(b, &parts); err != nil {
		c.bad = true
		return nil
	}
	var sb strings.Builder
	for _, p := range parts {
		if p.Type != "text" {
			c.bad = true
			return nil
		}
		sb.WriteString(p.Text)
	}
	c.text = sb.String()
	return nil
}

// decodeChat decodes a chat request's JSON. A syntax error is reported
// before authentication (as for /query); type errors come with the rest of
// validation, after it.
func decodeChat(data []byte) (raw *rawChat, syntaxErr bool, typeErr error) {
	raw = &rawChat{}
	err := json.Unmarshal(data, raw)
	if err == nil {
		return raw, false, nil
	}
	if _, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return nil, false, err
	}
	return nil, true, err
}

// parseChat validates a decoded chat request. It returns the OpenAI error
// (param, message) of the first problem found.
func parseChat(raw *rawChat, typeErr error) (*ChatRequest, string, string) {
	if typeErr != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](typeErr); ok && te.Field != "" {
			return nil, te.Field, "Invalid type for '" + te.Field + "': expected " + te.Type.String()
		}
		return nil, "", "Invalid request body: expected a JSON object"
	}
	if raw.N != nil && *raw.N != 1 {
		return nil, "n", "Only n=1 is supported"
	}
	req := &ChatRequest{Model: raw.Model, Temperature: raw.Temperature, TopP: raw.TopP, Stream: raw.Stream, User: raw.User}
	req.MaxTokens = raw.MaxCompletionTokens
	if req.MaxTokens == nil {
		req.MaxTokens = raw.MaxTokens
	}
	if raw.StreamOptions != nil {
		req.IncludeUsage = raw.StreamOptions.IncludeUsage
	}
	if len(raw.Stop) > 0 && string(raw.Stop) != "null" {
		var one string
		if err := json.Unmarshal(raw.Stop, &one); err == nil {
			req.Stop = []string{one}
		} else if err := json.Unmarshal(raw.Stop, &req.Stop); err != nil {
			return nil, "stop", "Invalid type for 'stop': expected a string or an array of strings"
		}
	}
	if raw.Messages == nil {
		return nil, "messages", "Missing required parameter: 'messages'."
	}
	req.Messages = make([]ChatMessage, 0, len(raw.Messages))
	for i, m := range raw.Messages {
		if m.Content.bad {
			return nil, "messages[" + itoa(i) + "].content", "Invalid content: expected a string or an array of text parts"
		}
		req.Messages = append(req.Messages, ChatMessage{Role: m.Role, Content: m.Content.text})
	}
	if err := validatorInstance().Struct(req); err != nil {
		var verrs validatorErrors
		if errors.As(err, &verrs) && len(verrs) > 0 {
			fe := verrs[0]
			param := strings.TrimPrefix(fe.Namespace(), "ChatRequest.")
			param = strings.ReplaceAll(param, "Content", "content")
			param = strings.ReplaceAll(param, "Role", "role")
			return nil, param, "Invalid value for '" + param + "': " + describe(fe)
		}
		return nil, "", "Invalid request"
	}
	return req, "", ""
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	Choices           []chatChoice `json:"choices"`
	Usage             *usageJSON   `json:"usage"`
	SystemFingerprint *string      `json:"system_fingerprint"`
	Gateway           gatewayInfo  `json:"x_gateway"`
}

type chatChoice struct {
	Index        int            `json:"index"`
	Message      chatOutMessage `json:"message"`
	Logprobs     *struct{}      `json:"logprobs"`
	FinishReason string         `json:"finish_reason"`
}

type chatOutMessage struct {
	Role    string  `json:"role"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal"`
}

// gatewayInfo rides along in OpenAI-shaped answers; SDKs ignore unknown
// fields, and curl users see the cascade.
type gatewayInfo struct {
	Provider    string           `json:"provider"`
	CascadePath []providers.Step `json:"cascade_path"`
	Cost        *float64         `json:"cost_estimate_usd"`
	Safety      *safetyReport    `json:"safety,omitempty"`
	RequestID   string           `json:"request_id"`
}

// chatCompletions serves POST /v1/chat/completions.
func (g *Gateway) chatCompletions(w http.ResponseWriter, r *http.Request) {
	data, ok := readBodyWith(w, r, func(status int, msg string) {
		writeOAIError(w, r, status, "invalid_request_error", "request_too_large", msg, "")
	})
	if !ok {
		return
	}
	raw, syntaxErr, typeErr := decodeChat(data)
	if syntaxErr {
		writeOAIError(w, r, http.StatusBadRequest, "invalid_request_error", "invalid_json", "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload.)", "")
		return
	}
	if _, ok := g.authenticate(w, r, unauthorizedOAI); !ok {
		return
	}
	req, param, msg := parseChat(raw, typeErr)
	if req == nil {
		g.peekRateHeaders(w, r)
		writeOAIError(w, r, http.StatusBadRequest, "invalid_request_error", "invalid_request", msg, param)
		return
	}
	cascade := g.cascade
	if m := req.Model; m != "" && m != "auto" {
		name, model, _ := strings.Cut(m, "/")
		c, err := g.cascade.Prefer(name, model)
		if err != nil {
			g.peekRateHeaders(w, r)
			writeOAIError(w, r, http.StatusNotFound, "invalid_request_error", "model_not_found",
				"The model '"+truncate(m, 100)+"' does not exist: use 'auto' or 'PROVIDER/MODEL' with a configured provider (see GET /v1/models).", "model")
			return
		}
		cascade = c
	}
	if !g.rateLimit(w, r, 1, limitedOAI) {
		return
	}
	s := state(r.Context())
	texts := make([]string, len(req.Messages))
	for i, m := range req.Messages {
		texts[i] = m.Content
	}
	v := g.scan(r, texts...)
	if v.Blocked {
		writeOAIError(w, r, http.StatusBadRequest, "invalid_request_error", "content_blocked",
			"Request blocked by input guard: "+strings.Join(v.Categories, ", "), "messages")
		return
	}
	preq := providers.Request{Temperature: req.Temperature, TopP: req.TopP, Stop: req.Stop, User: req.User, RequestID: s.id, MaxTokens: 1024}
	if req.MaxTokens != nil {
		preq.MaxTokens = *req.MaxTokens
	}
	for i, m := range req.Messages {
		role := m.Role
		if role == "developer" {
			role = "system"
		}
		preq.Messages = append(preq.Messages, providers.Message{Role: role, Content: v.Redacted[i]})
	}
	confidential := confidentialPrompts(r, req)
	if req.Stream {
		g.streamChat(w, r, cascade, preq, req, v, confidential)
		return
	}
	o := g.completeWith(r.Context(), cascade, preq)
	g.noteOutcome(r, o)
	if o.safetyRan && o.safety.Flagged {
		writeOAIError(w, r, http.StatusBadRequest, "invalid_request_error", "content_blocked",
			"Request blocked by safety check: "+strings.Join(o.safety.Categories, ", "), "messages")
		return
	}
	if o.err != nil {
		g.cascadeFailedOAI(w, r, o)
		return
	}
	res := o.result
	u := res.Response.Usage
	model := res.Response.Model
	if model == "" {
		model = res.Model
	}
	text, leaked := g.outputText(res.Response.Text, v, confidential)
	finish := finishReason(res.Response.FinishReason)
	if leaked {
		finish = "content_filter"
		s.guardCategories = append(s.guardCategories, guard.CategoryLeak)
	}
	w.Header().Set("X-Gateway-Provider", res.Provider)
	writeJSON(w, http.StatusOK, chatCompletion{
		ID: "chatcmpl-" + s.id, Object: "chat.completion", Created: time.Now().Unix(), Model: model,
		Choices: []chatChoice{{Message: chatOutMessage{Role: "assistant", Content: text},
			FinishReason: finish}},
		Usage:   &usageJSON{u.PromptTokens, u.CompletionTokens, u.TotalTokens},
		Gateway: gatewayInfo{Provider: res.Provider, CascadePath: res.Steps, Cost: res.CostUSD, Safety: reportSafety(o), RequestID: s.id},
	})
}

func finishReason(r string) string {
	if r == "" {
		return "stop"
	}
	return r
}

// cascadeFailedOAI maps a failed cascade onto OpenAI's error shape.
func (g *Gateway) cascadeFailedOAI(w http.ResponseWriter, r *http.Request, o outcome) {
	var ce *providers.CascadeError
	errors.As(o.err, &ce)
	switch {
	case ce != nil && ce.Blocked != nil:
		writeOAIError(w, r, http.StatusBadRequest, "invalid_request_error", "content_filter",
			"Request blocked by provider safety filter ("+ce.Blocked.Provider+")", "messages")
	case ce != nil && ce.Canceled && r.Context().Err() != nil:
		writeOAIError(w, r, 499, "invalid_request_error", "client_closed_request", "Client Closed Request", "")
	case errors.Is(o.err, providers.ErrDeadline):
		writeOAIError(w, r, http.StatusGatewayTimeout, "server_error", "gateway_timeout", "Gateway timeout: no provider answered within REQUEST_TIMEOUT", "")
	default:
		writeOAIError(w, r, http.StatusBadGateway, "server_error", "all_providers_failed", "All LLM providers failed", "")
	}
}

type modelList struct {
	Object string      `json:"object"`
	Data   []modelInfo `json:"data"`
}

type modelInfo struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Created  int64  `json:"created"`
	OwnedBy  string `json:"owned_by"`
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// models serves GET /v1/models: "auto" (the cascade) and each configured
// provider's model as PROVIDER/MODEL, the form chat requests accept.
func (g *Gateway) models(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.authenticate(w, r, unauthorizedOAI); !ok {
		return
	}
	created := g.metrics.started.Unix()
	list := modelList{Object: "list", Data: []modelInfo{{ID: "auto", Object: "model", Created: created, OwnedBy: "llm-secure-gateway", Provider: "cascade", Model: "auto"}}}
	for _, p := range g.cascade.Providers() {
		list.Data = append(list.Data, modelInfo{ID: p.Name() + "/" + p.Model(), Object: "model", Created: created, OwnedBy: p.Name(), Provider: p.Name(), Model: p.Model()})
	}
	writeJSON(w, http.StatusOK, list)
}

// confidentialPrompts are the system messages of a request whose client set
// X-Confidential-System-Prompt: the output guard withholds an answer that
// repeats them.
func confidentialPrompts(r *http.Request, req *ChatRequest) []string {
	if ok, _ := strconv.ParseBool(r.Header.Get("X-Confidential-System-Prompt")); !ok {
		return nil
	}
	var out []string
	for _, m := range req.Messages {
		if (m.Role == "system" || m.Role == "developer") && strings.TrimSpace(m.Content) != "" {
			out = append(out, m.Content)
		}
	}
	return out
}
