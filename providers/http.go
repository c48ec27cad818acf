package providers

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBodyBytes caps how much of an upstream answer is read. A chat
// completion of a few thousand tokens is tens of KiB; 4 MiB leaves room for
// verbose metadata while bounding what a misbehaving upstream can make us hold.
const DefaultMaxBodyBytes int64 = 4 << 20

const userAgent = "llm-secure-gateway"

// NewHTTPClient returns a client tuned for a few long-lived upstream hosts.
// It has no client-level Timeout on purpose: the per-attempt and per-request
// contexts bound every call, and a client Timeout would silently cap them.
func NewHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   5 * time.Second,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
			// Non-streaming LLM answers send headers only after generating the
			// whole text, so this is a backstop for callers without a deadline,
			// not the attempt timeout.
			ResponseHeaderTimeout: 2 * time.Minute,
		},
		// Upstreams never legitimately redirect an API call; following one
		// would resend the key header to wherever it points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// defaultClient is shared by providers built without an HTTPClient so that
// they pool connections; it is created once per cold start.
var defaultClient = sync.OnceValue(NewHTTPClient)

func clientOrDefault(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return defaultClient()
}

// upstream is one decoded-enough HTTP exchange.
type upstream struct {
	status int
	header http.Header
	body   []byte
}

// postJSON sends body as JSON and reads at most maxBytes of the answer. Every
// failure is an *Error whose Message is safe to show; the request URL (and any
// query it carries) is deliberately dropped from the cause.
func postJSON(ctx context.Context, client *http.Client, provider, endpoint string, header http.Header, body any, maxBytes int64) (*upstream, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, &Error{Provider: provider, Kind: KindMalformed, Message: "could not encode request", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		// url.Parse errors quote the whole URL; keep only that it was invalid.
		return nil, &Error{Provider: provider, Kind: KindNetwork, Message: "invalid provider URL", Err: errors.New("invalid provider URL")}
	}
	if header != nil {
		req.Header = header
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")

	resp, err := client.Do(req)
	if err != nil {
		return nil, transportError(ctx, provider, err)
	}
	defer resp.Body.Close()

	if maxBytes <= 0 {
		maxBytes = DefaultMaxBodyBytes
	}
	if resp.ContentLength > maxBytes {
		return nil, tooLarge(provider, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, transportError(ctx, provider, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, tooLarge(provider, resp.StatusCode)
	}
	return &upstream{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

func tooLarge(provider string, status int) *Error {
	return &Error{Provider: provider, Kind: KindMalformed, Status: status, Message: "response too large",
		Err: errors.New("upstream body exceeds the size cap")}
}

// transportError classifies a failure to get or read a response. The cause is
// unwrapped from *url.Error because that type prints the full request URL.
func transportError(ctx context.Context, provider string, err error) *Error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return &Error{Provider: provider, Kind: KindCanceled, Message: "canceled", Err: context.Canceled}
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return &Error{Provider: provider, Kind: KindTimeout, Message: "timeout", Err: context.DeadlineExceeded}
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() {
		return &Error{Provider: provider, Kind: KindTimeout, Message: "timeout", Err: err}
	}
	return &Error{Provider: provider, Kind: KindNetwork, Message: "network error", Err: err}
}

// keyFor fetches the current key; a missing key is an auth failure so that
// the cascade refreshes it like a rejected one.
func keyFor(ctx context.Context, provider string, ks KeySource) (string, error) {
	if ks == nil {
		return "", &Error{Provider: provider, Kind: KindAuth, Message: "no API key configured"}
	}
	key, err := ks.Key(ctx)
	if err != nil {
		// The source's error may quote a secret reference, never the value;
		// still, keep it out of Message.
		return "", &Error{Provider: provider, Kind: KindAuth, Message: "API key unavailable", Err: err}
	}
	if key == "" {
		return "", &Error{Provider: provider, Kind: KindAuth, Message: "no API key configured"}
	}
	if strings.ContainsAny(key, "\r\n") {
		return "", &Error{Provider: provider, Kind: KindAuth, Message: "API key is not a valid header value"}
	}
	return key, nil
}

// statusMessage is the sanitised reason for a non-2xx answer. code comes from
// the upstream body, so only a short enum-like word is echoed.
func statusMessage(status int, code string) string {
	if code = safeCode(code); code != "" {
		return fmt.Sprintf("HTTP %d from provider (%s)", status, code)
	}
	return fmt.Sprintf("HTTP %d from provider", status)
}

// safeCode keeps code only if it looks like an error enum (RESOURCE_EXHAUSTED,
// model_decommissioned), so free text from an upstream never reaches clients.
func safeCode(code string) string {
	if code == "" || len(code) > 64 {
		return ""
	}
	for _, r := range code {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
		default:
			return ""
		}
	}
	return code
}

// safeCategory normalises a block category from an upstream ("violence/graphic",
// "HARM_CATEGORY_HATE_SPEECH" after trimming) to a short lower-case word, or "".
func safeCategory(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	c = strings.ReplaceAll(c, " ", "_")
	if len(c) > 64 {
		return ""
	}
	for _, r := range c {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '.', r == '/':
		default:
			return ""
		}
	}
	return c
}

// retryAfter reads Retry-After-Ms or Retry-After (seconds, possibly
// fractional, or an HTTP date). Zero means no usable hint.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After-Ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// isAuthStatus: both 401 and 403 mean the key was refused (Gemini's 403
// PERMISSION_DENIED is also its missing-key answer).
func isAuthStatus(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}
