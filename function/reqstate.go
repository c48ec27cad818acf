package function

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/llm-secure-gateway/gateway/providers"
)

type ctxKey int

const (
	stateKey ctxKey = iota
	platformIDKey
)

// WithRequestID makes the gateway use a platform's request id (Lambda's)
// instead of generating one.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, platformIDKey, id)
}

// reqState is what one request's log line and metrics are made from. The
// handlers fill it; the outer middleware writes it once the answer is out.
type reqState struct {
	id       string
	platform bool // id came from the platform (e.g. AWS request id)
	start    time.Time
	route    string
	clientIP string
	keyID    string

	provider string
	model    string
	steps    []providers.Step
	usage    *providers.Usage
	costUSD  *float64

	guardBlocked    bool
	guardCategories []string
	piiTypes        []string
	injectionScore  float64

	safetyChecker string
	safetyFlagged bool
	safetyMS      int64
	errorKind     string
	authFailed    bool
	rateLimited   bool
	prompt        string // only kept when LOG_PROMPTS=true
}

func state(ctx context.Context) *reqState {
	if s, ok := ctx.Value(stateKey).(*reqState); ok {
		return s
	}
	return &reqState{}
}

func requestID(ctx context.Context) string { return state(ctx).id }

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validIncomingID accepts a caller's X-Request-Id only when it is short and
// plain, so it cannot smuggle anything into logs.
func validIncomingID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

func contextWithState(ctx context.Context, s *reqState) context.Context {
	return context.WithValue(ctx, stateKey, s)
}
