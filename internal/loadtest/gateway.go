package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/llm-secure-gateway/gateway/function"
)

// ServiceKey is the client key the harness's gateways accept.
const ServiceKey = "svc-loadtest-KEY-0123456789"

// GatewayEnv is the environment of a gateway whose three providers point
// at the given mocks (OpenAI-compatible base URLs get their usual path),
// with every local guard on and a rate limit that never bites. extra
// overrides any of it.
func GatewayEnv(gemini, groq, openrouter string, extra map[string]string) map[string]string {
	m := map[string]string{
		"SERVICE_API_KEY":               ServiceKey,
		"GEMINI_API_KEY":                "AIzaSyLOADTESTgeminiKEY00000000000000",
		"GROQ_API_KEY":                  "gsk_LOADTESTgroqKEY000000000000000000000",
		"OPENROUTER_API_KEY":            "sk-or-v1-LOADTESTopenrouterKEY0000000000",
		"GEMINI_BASE_URL":               gemini,
		"GROQ_BASE_URL":                 groq + "/openai/v1",
		"OPENROUTER_BASE_URL":           openrouter + "/api/v1",
		"RATE_LIMIT":                    "100000000/minute",
		"PII_ACTION":                    "block",
		"SAFETY_CHECK":                  "off",
		"PROVIDER_TIMEOUT":              "20s",
		"REQUEST_TIMEOUT":               "60s",
		"ENABLE_PROMPT_INJECTION_CHECK": "true",
		"ENABLE_PII_CHECK":              "true",
		"ENABLE_SECRET_CHECK":           "true",
		"ENABLE_SQL_INJECTION_CHECK":    "true",
		"ENABLE_SHELL_INJECTION_CHECK":  "true",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// NewGateway builds the real pipeline (function.LoadConfig and function.New)
// from env, logging its JSON lines to log.
func NewGateway(ctx context.Context, env map[string]string, log io.Writer) (*function.Gateway, error) {
	cfg, err := function.LoadConfig(ctx, func(k string) string { return env[k] }, function.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return function.New(cfg, function.WithLogger(function.NewLogger(log)))
}

// AuthHeader carries the service key.
func AuthHeader() http.Header {
	return http.Header{"X-Api-Key": {ServiceKey}, "Content-Type": {"application/json"}}
}

// Errors a check reports.
var (
	ErrUndocumented = errors.New("undocumented status")
	ErrWrongBody    = errors.New("wrong body")
)

// CheckQuery accepts exactly what SPEC.md documents for /query when
// providers fail: 200 with the provider's answer, 500 "All LLM providers
// failed", 504 "Gateway timeout"; each with cascade_path and request_id.
func CheckQuery(status int, h http.Header, body []byte) error {
	var b struct {
		Response    *string           `json:"response"`
		Status      string            `json:"status"`
		Error       *string           `json:"error"`
		Provider    *string           `json:"provider"`
		CascadePath []json.RawMessage `json:"cascade_path"`
		RequestID   string            `json:"request_id"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return fmt.Errorf("%w: status %d, not JSON: %.200q", ErrWrongBody, status, body)
	}
	if b.RequestID == "" || h.Get("X-Request-Id") != b.RequestID {
		return fmt.Errorf("%w: request id %q / header %q", ErrWrongBody, b.RequestID, h.Get("X-Request-Id"))
	}
	want := ""
	switch status {
	case http.StatusOK:
		if b.Response == nil || *b.Response != Answer || b.Status != "success" || b.Provider == nil || len(b.CascadePath) == 0 {
			return fmt.Errorf("%w: 200 %.300s", ErrWrongBody, body)
		}
		return nil
	case http.StatusInternalServerError:
		want = "All LLM providers failed"
	case http.StatusGatewayTimeout:
		want = "Gateway timeout"
	default:
		return fmt.Errorf("%w: %d %.200s", ErrUndocumented, status, body)
	}
	if b.Error == nil || *b.Error != want || b.Status != "error" || b.Response != nil || b.CascadePath == nil {
		return fmt.Errorf("%w: %d %.300s", ErrWrongBody, status, body)
	}
	return nil
}

// CheckChat is CheckQuery for /v1/chat/completions (non-streaming): 200
// chat.completion, 502 all_providers_failed, 504 gateway_timeout.
func CheckChat(status int, h http.Header, body []byte) error {
	if h.Get("X-Request-Id") == "" {
		return fmt.Errorf("%w: no X-Request-Id", ErrWrongBody)
	}
	var b struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
		Error *struct {
			Code string `json:"code"`
			Type string `json:"type"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return fmt.Errorf("%w: status %d, not JSON: %.200q", ErrWrongBody, status, body)
	}
	want := ""
	switch status {
	case http.StatusOK:
		if b.Object != "chat.completion" || len(b.Choices) != 1 || b.Choices[0].Message.Content != Answer || h.Get("X-Gateway-Provider") == "" {
			return fmt.Errorf("%w: 200 %.300s", ErrWrongBody, body)
		}
		return nil
	case http.StatusBadGateway:
		want = "all_providers_failed"
	case http.StatusGatewayTimeout:
		want = "gateway_timeout"
	default:
		return fmt.Errorf("%w: %d %.200s", ErrUndocumented, status, body)
	}
	if b.Error == nil || b.Error.Code != want {
		return fmt.Errorf("%w: %d %.300s", ErrWrongBody, status, body)
	}
	return nil
}
