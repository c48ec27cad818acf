package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// Anthropic defaults (reference/providers.md §4).
const (
	NameAnthropic           = "anthropic"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	DefaultAnthropicVersion = "2023-06-01"
	// DefaultAnthropicModel is a plausible current Claude Haiku alias; it is
	// unverified against the live model list and configurable
	// (ANTHROPIC_MODEL), so a retired ID costs a config change, not a build.
	DefaultAnthropicModel = "claude-haiku-4-5"
	// DefaultAnthropicMaxTokens fills the Messages API's required max_tokens
	// when the request leaves it open.
	DefaultAnthropicMaxTokens = 1024
)

// AnthropicConfig configures the Messages API client.
type AnthropicConfig struct {
	BaseURL      string // scheme://host[/prefix]; "/v1/messages" is appended
	Model        string
	Key          KeySource
	HTTPClient   *http.Client
	MaxBodyBytes int64  // upstream body cap; 0 means DefaultMaxBodyBytes
	Version      string // anthropic-version header; "" means DefaultAnthropicVersion
}

// Anthropic speaks the Anthropic Messages API.
type Anthropic struct {
	cfg      AnthropicConfig
	endpoint string
	client   *http.Client
}

// NewAnthropic builds the client; empty fields take the defaults.
func NewAnthropic(cfg AnthropicConfig) *Anthropic {
	cfg.BaseURL = strings.TrimSuffix(strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultAnthropicBaseURL), "/"), "/v1")
	cfg.Model = cmp.Or(cfg.Model, DefaultAnthropicModel)
	cfg.Version = cmp.Or(cfg.Version, DefaultAnthropicVersion)
	return &Anthropic{cfg: cfg, endpoint: cfg.BaseURL + "/v1/messages", client: clientOrDefault(cfg.HTTPClient)}
}

func (a *Anthropic) Name() string  { return NameAnthropic }
func (a *Anthropic) Model() string { return a.cfg.Model }

// WithModel returns a copy of a that calls model instead.
func (a *Anthropic) WithModel(model string) Provider {
	cfg := a.cfg
	cfg.Model = model
	cfg.HTTPClient = a.client
	return NewAnthropic(cfg)
}

// Wire types.
type (
	anthRequest struct {
		Model         string        `json:"model"`
		MaxTokens     int           `json:"max_tokens"`
		System        string        `json:"system,omitempty"`
		Messages      []anthMessage `json:"messages"`
		Temperature   *float64      `json:"temperature,omitempty"`
		TopP          *float64      `json:"top_p,omitempty"`
		StopSequences []string      `json:"stop_sequences,omitempty"`
		Stream        bool          `json:"stream,omitempty"`
		Metadata      *anthMetadata `json:"metadata,omitempty"`
	}
	anthMessage struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	anthMetadata struct {
		UserID string `json:"user_id"`
	}

	anthResponse struct {
		Type    string `json:"type"`
		Model   string `json:"model"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StopReason string     `json:"stop_reason"`
		Usage      *anthUsage `json:"usage"`
		Error      *anthError `json:"error"`
	}
	anthUsage struct {
		InputTokens              int `json:"input_tokens"`
		OutputTokens             int `json:"output_tokens"`
		CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
		CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	}
	// anthError: message is not decoded on purpose (free text).
	anthError struct {
		Type string `json:"type"`
	}
	anthErrorBody struct {
		Type  string     `json:"type"`
		Error *anthError `json:"error"`
	}

	// anthEvent is any streaming event; which fields are set depends on Type.
	anthEvent struct {
		Type    string `json:"type"`
		Message *struct {
			Model string     `json:"model"`
			Usage *anthUsage `json:"usage"`
		} `json:"message"`
		Delta *struct {
			Type       string `json:"type"`
			Text       string `json:"text"`
			StopReason string `json:"stop_reason"`
		} `json:"delta"`
		ContentBlock *struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content_block"`
		Usage *anthUsage `json:"usage"`
		Error *anthError `json:"error"`
	}
)

// promptTokens: cached input is reported apart from input_tokens.
func (u *anthUsage) promptTokens() int {
	return u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
}

func (a *Anthropic) buildRequest(req Request, stream bool) *anthRequest {
	out := &anthRequest{
		Model:     a.cfg.Model,
		MaxTokens: req.MaxTokens,
		Stream:    stream,
	}
	if out.MaxTokens <= 0 {
		out.MaxTokens = DefaultAnthropicMaxTokens
	}
	var system []string
	for _, m := range req.Messages {
		role := "user"
		switch m.Role {
		case "system", "developer":
			system = append(system, m.Content)
			continue
		case "assistant", "model":
			role = "assistant"
		}
		// Consecutive turns of one role are merged: older API versions
		// require strict alternation.
		if n := len(out.Messages); n > 0 && out.Messages[n-1].Role == role {
			out.Messages[n-1].Content += "\n\n" + m.Content
			continue
		}
		out.Messages = append(out.Messages, anthMessage{Role: role, Content: m.Content})
	}
	if len(out.Messages) == 0 {
		// A system-only request is still a question: ask it as the user turn.
		out.Messages = []anthMessage{{Role: "user", Content: strings.Join(system, "\n\n")}}
	} else if len(system) > 0 {
		out.System = strings.Join(system, "\n\n")
	}
	if t := req.Temperature; t != nil {
		// OpenAI's range is 0..2, Anthropic's 0..1.
		out.Temperature = new(min(max(*t, 0), 1))
	} else {
		// Recent Claude models reject temperature and top_p together
		// [unverified], so top_p goes only alone.
		out.TopP = req.TopP
	}
	for _, s := range req.Stop {
		// Whitespace-only stop sequences are rejected by the API [unverified].
		if strings.TrimSpace(s) != "" {
			out.StopSequences = append(out.StopSequences, s)
		}
	}
	if req.User != "" {
		out.Metadata = &anthMetadata{UserID: req.User}
	}
	return out
}

func (a *Anthropic) header(ctx context.Context) (http.Header, error) {
	key, err := keyFor(ctx, NameAnthropic, a.cfg.Key)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 4)
	h.Set("x-api-key", key)
	h.Set("anthropic-version", a.cfg.Version)
	h.Set("User-Agent", userAgent)
	return h, nil
}

// Complete calls the Messages API once (non-streaming).
func (a *Anthropic) Complete(ctx context.Context, req Request) (*Response, error) {
	h, err := a.header(ctx)
	if err != nil {
		return nil, err
	}
	up, err := postJSON(ctx, a.client, NameAnthropic, a.endpoint, h, a.buildRequest(req, false), a.cfg.MaxBodyBytes)
	if err != nil {
		return nil, err
	}
	if up.status < 200 || up.status > 299 {
		return nil, anthropicStatusError(up, time.Now())
	}
	resp, err := decodeAnthropic(up.body)
	if err == nil && resp.Model == "" {
		resp.Model = a.cfg.Model
	}
	return resp, err
}

func decodeAnthropic(body []byte) (*Response, error) {
	var r anthResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &Error{Provider: NameAnthropic, Kind: KindMalformed, Status: http.StatusOK, Message: "malformed response", Err: err}
	}
	if r.Type == "error" || r.Error != nil {
		code := ""
		if r.Error != nil {
			code = safeCode(r.Error.Type)
		}
		return nil, &Error{Provider: NameAnthropic, Kind: KindBody, Status: http.StatusOK, Code: code, Message: "error in response body"}
	}
	resp := &Response{Model: r.Model}
	if u := r.Usage; u != nil {
		resp.Usage = Usage{PromptTokens: u.promptTokens(), CompletionTokens: u.OutputTokens, Reported: true}
		resp.Usage.TotalTokens = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
	}
	if r.StopReason == "refusal" {
		return nil, safetyError(NameAnthropic, r.StopReason, []string{"refusal"})
	}
	var text strings.Builder
	for _, c := range r.Content {
		if c.Type == "text" {
			text.WriteString(c.Text)
		}
	}
	resp.Text = text.String()
	resp.FinishReason = anthropicFinish(r.StopReason)
	if resp.Text == "" {
		msg := "empty response"
		if r.StopReason == "max_tokens" {
			msg = "empty response (max tokens reached)"
		}
		return nil, &Error{Provider: NameAnthropic, Kind: KindEmpty, Status: http.StatusOK, Code: safeCode(r.StopReason), Message: msg}
	}
	return resp, nil
}

// anthropicFinish maps stop_reason to OpenAI's finish_reason.
func anthropicFinish(stop string) string {
	switch stop {
	case "max_tokens":
		return "length"
	case "tool_use":
		return "tool_calls"
	}
	// end_turn, stop_sequence, pause_turn and anything new: the turn ended.
	return "stop"
}

// anthropicStatusError classifies a non-2xx answer: 401/403 are a refused
// key, 429 and 529 (overloaded) carry retry-after when the API gives one.
func anthropicStatusError(up *upstream, now time.Time) *Error {
	e := &Error{Provider: NameAnthropic, Kind: KindStatus, Status: up.status, RetryAfter: retryAfter(up.header, now)}
	var b anthErrorBody
	if json.Unmarshal(up.body, &b) == nil && b.Error != nil {
		e.Code = safeCode(b.Error.Type)
	}
	if isAuthStatus(up.status) {
		e.Kind = KindAuth
	}
	e.Message = statusMessage(up.status, e.Code)
	e.Err = errors.New(e.Message)
	return e
}

// Stream calls the Messages API with stream:true: named events from
// message_start to message_stop, which is the only clean end.
func (a *Anthropic) Stream(ctx context.Context, req Request) (Stream, error) {
	h, err := a.header(ctx)
	if err != nil {
		return nil, err
	}
	return openStream(ctx, a.client, sseOpen{
		provider:    NameAnthropic,
		endpoint:    a.endpoint,
		header:      h,
		body:        a.buildRequest(req, true),
		maxBody:     a.cfg.MaxBodyBytes,
		statusError: func(up *upstream) *Error { return anthropicStatusError(up, time.Now()) },
		whole:       decodeAnthropic,
	}, func(conn *sseConn) Stream { return &anthStream{sseConn: conn, model: a.cfg.Model} })
}

type anthStream struct {
	*sseConn
	model  string
	prompt int // input tokens from message_start
}

func (s *anthStream) Next() (Chunk, error) { return s.deliver(s.next) }

func (s *anthStream) next() (Chunk, error) {
	for {
		ev, err := s.event()
		if errors.Is(err, io.EOF) {
			return Chunk{}, noTerminator(NameAnthropic)
		}
		if err != nil {
			return Chunk{}, err
		}
		var e anthEvent
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			if ev.Event == "error" {
				return Chunk{}, s.streamError(nil)
			}
			return Chunk{}, malformedChunk(NameAnthropic, err)
		}
		// The event: line names the type; the data's own type is the fallback.
		switch cmp.Or(ev.Event, e.Type) {
		case "message_start":
			if e.Message != nil {
				if e.Message.Model != "" {
					s.model = e.Message.Model
				}
				if u := e.Message.Usage; u != nil {
					s.prompt = u.promptTokens()
				}
			}
		case "content_block_start":
			// Normally empty, but a text block may open with text of its own.
			if b := e.ContentBlock; b != nil && b.Type == "text" && b.Text != "" {
				return Chunk{Text: b.Text, Model: s.model}, nil
			}
		case "content_block_delta":
			// text_delta only: thinking, signatures and tool JSON are not text.
			if e.Delta != nil && e.Delta.Type == "text_delta" && e.Delta.Text != "" {
				return Chunk{Text: e.Delta.Text, Model: s.model}, nil
			}
		case "message_delta":
			out := Chunk{Model: s.model}
			if e.Delta != nil && e.Delta.StopReason != "" {
				if e.Delta.StopReason == "refusal" {
					return Chunk{}, safetyError(NameAnthropic, "refusal", []string{"refusal"})
				}
				out.FinishReason = anthropicFinish(e.Delta.StopReason)
			}
			if u := e.Usage; u != nil {
				// output_tokens is cumulative; newer versions may repeat input.
				prompt := max(s.prompt, u.promptTokens())
				out.Usage = &Usage{PromptTokens: prompt, CompletionTokens: u.OutputTokens,
					TotalTokens: prompt + u.OutputTokens, Reported: true}
			}
			if out.FinishReason != "" || out.Usage != nil {
				return out, nil
			}
		case "message_stop":
			return Chunk{}, io.EOF
		case "error":
			return Chunk{}, s.streamError(e.Error)
		}
		// ping, content_block_stop and event types added later: nothing for
		// the client.
	}
}

func (s *anthStream) streamError(e *anthError) *Error {
	code := ""
	if e != nil {
		code = safeCode(e.Type)
	}
	return &Error{Provider: NameAnthropic, Kind: KindBody, Status: http.StatusOK, Code: code, Message: "error in stream"}
}
