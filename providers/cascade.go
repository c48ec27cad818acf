package providers

import (
	"context"
	"errors"
	"time"
)

// Step statuses in cascade_path.
const (
	StepSuccess = "success"
	StepFailed  = "failed"
	StepTimeout = "timeout"
	StepSkipped = "skipped"
)

// Step is one entry of cascade_path.
type Step struct {
	Provider  string  `json:"provider"`
	Model     string  `json:"model"`
	Status    string  `json:"status"`
	Reason    *string `json:"reason"`
	LatencyMS int64   `json:"latency_ms"`
}

// Result is the cascade's successful outcome.
type Result struct {
	Response *Response
	Provider string
	Model    string
	Steps    []Step
	// CostUSD is nil when the model is not in the pricing table or the
	// provider reported no usage: unknown is not zero.
	CostUSD *float64
}

// ErrAllFailed and ErrDeadline are matched with errors.Is on a *CascadeError.
var (
	ErrAllFailed = errors.New("all LLM providers failed")
	ErrDeadline  = errors.New("gateway timeout")
)

// CascadeError carries the steps tried when no provider answered. It matches
// ErrDeadline when the overall deadline ran out first, ErrAllFailed
// otherwise, and ErrSafetyBlocked (via Blocked) for a provider safety block.
type CascadeError struct {
	Steps    []Step
	Timeout  bool
	Canceled bool   // the caller's context was canceled (client went away)
	Blocked  *Error // non-nil when a provider's own safety filter stopped the cascade
}

func (e *CascadeError) Error() string {
	switch {
	case e.Blocked != nil:
		return e.Blocked.Error()
	case e.Timeout:
		return ErrDeadline.Error()
	}
	return ErrAllFailed.Error()
}

func (e *CascadeError) Is(target error) bool {
	switch target {
	case ErrSafetyBlocked:
		return e.Blocked != nil
	case ErrDeadline:
		return e.Blocked == nil && e.Timeout
	case ErrAllFailed:
		return e.Blocked == nil && !e.Timeout
	}
	return false
}

// CascadeConfig configures a Cascade.
type CascadeConfig struct {
	Providers      []Provider    // in order
	AttemptTimeout time.Duration // per provider attempt (PROVIDER_TIMEOUT)
	Pricing        Pricing
	// Keys maps provider name to its key source, so that a 401/403 refreshes
	// the key once and retries that provider (rotated secret). May be nil.
	Keys map[string]KeySource
}
