// Package providers speaks each LLM provider's wire format and runs the
// ordered cascade over them. The core knows providers only through Provider.
package providers

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Message is one chat turn in the gateway's provider-neutral form.
type Message struct {
	Role    string // "system", "user" or "assistant"
	Content string
}

// Request is what the cascade asks of every provider.
type Request struct {
	Messages    []Message
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	Stop        []string
	User        string
	// RequestID is forwarded where a provider accepts one (never a secret).
	RequestID string
}

// Usage is token accounting in OpenAI's terms. Reported is false when the
// provider sent no usage at all, so cost can be null rather than zero.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	TotalTokens      int
	Reported         bool
}

// Response is one provider's successful answer.
type Response struct {
	Text         string
	Model        string // the model the provider says answered (may differ from the configured one)
	FinishReason string // OpenAI vocabulary: stop, length, content_filter, tool_calls
	Usage        Usage
}

// Provider is one upstream. Implementations must honour ctx and never put a
// key in a URL or in an error message.
type Provider interface {
	Name() string
	Model() string
	Complete(ctx context.Context, req Request) (*Response, error)
}

// KeySource yields a provider's API key. Refresh re-reads it once after the
// provider refused the current one (401/403), for rotated secrets.
type KeySource interface {
	Key(ctx context.Context) (string, error)
	Refresh(ctx context.Context) (string, error)
}

// StaticKey is a KeySource for a literal key.
type StaticKey string

func (k StaticKey) Key(context.Context) (string, error)     { return string(k), nil }
func (k StaticKey) Refresh(context.Context) (string, error) { return string(k), nil }

// Kind classifies an upstream failure; the cascade falls over on every kind
// except KindSafety.
type Kind string

const (
	KindNetwork   Kind = "network"   // connection refused, reset, DNS
	KindTimeout   Kind = "timeout"   // per-attempt timeout or deadline
	KindStatus    Kind = "status"    // non-2xx HTTP status
	KindAuth      Kind = "auth"      // 401/403 (and Gemini's 400 API_KEY_INVALID)
	KindBody      Kind = "body"      // error carried inside a 200 body or stream
	KindMalformed Kind = "malformed" // undecodable or oversized answer
	KindEmpty     Kind = "empty"     // decodable but no text
	KindSafety    Kind = "safety"    // the provider's own safety filter blocked it
	KindCanceled  Kind = "canceled"  // the client went away
)

// Error is a classified provider failure. Message is safe to show a client:
// it never holds a key or an upstream body verbatim.
type Error struct {
	Provider   string
	Kind       Kind
	Status     int           // HTTP status, 0 when none
	Code       string        // provider's error code/status word, e.g. RESOURCE_EXHAUSTED
	Message    string        // short, sanitised reason for cascade_path
	RetryAfter time.Duration // provider's retry hint, 0 when none
	Categories []string      // for KindSafety: the provider's block categories
	Err        error         // underlying cause (may be logged, never sent to clients)
}

func (e *Error) Error() string {
	if e.Message != "" {
		return e.Provider + ": " + e.Message
	}
	return fmt.Sprintf("%s: %s", e.Provider, e.Kind)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrSafetyBlocked matches (errors.Is) any provider safety block.
var ErrSafetyBlocked = errors.New("blocked by provider safety filter")

func (e *Error) Is(target error) bool {
	return target == ErrSafetyBlocked && e.Kind == KindSafety
}
