// Package function is the gateway's core: configuration, the request
// pipeline (parse, auth, validate, rate limit, guard, safety, cascade) and
// its routes, as one net/http handler. It imports no cloud SDK: the adapters
// under adapters/ and the entrypoints wrap it.
package function

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/llm-secure-gateway/gateway/function/guard"
	"github.com/llm-secure-gateway/gateway/function/ratelimit"
	"github.com/llm-secure-gateway/gateway/function/safety"
	"github.com/llm-secure-gateway/gateway/providers"
)

// MaxBodyBytes is the largest request body accepted (SPEC: 64 KiB).
const MaxBodyBytes = 64 << 10

// Gateway is the whole pipeline as an http.Handler.
type Gateway struct {
	cfg      *Config
	log      *slog.Logger
	mux      *http.ServeMux
	routes   []Route
	keys     keyring
	limiter  *ratelimit.Limiter
	authFail *ratelimit.Limiter
	guard    *guard.Guard
	safety   *safety.Chain
	cascade  *providers.Cascade
	metrics  *metrics
}

// Route is one method and path the gateway serves.
type Route struct{ Method, Path string }

// Option adjusts a Gateway built by New.
type Option func(*Gateway)

// WithLogger sends the request log somewhere other than stdout.
func WithLogger(l *slog.Logger) Option { return func(g *Gateway) { g.log = l } }

// WithProviders replaces the configured providers (tests, custom builds).
func WithProviders(ps ...providers.Provider) Option {
	return func(g *Gateway) {
		g.cascade = providers.NewCascade(g.cfg.cascadeConfig(ps, nil))
	}
}

// New builds the pipeline from cfg. Everything expensive (guard patterns,
// HTTP clients) is built here, once per instance.
func New(cfg *Config, opts ...Option) (*Gateway, error) {
	g := &Gateway{
		cfg:      cfg,
		log:      NewLogger(os.Stdout),
		mux:      http.NewServeMux(),
		keys:     newKeyring(cfg.ServiceKeys),
		limiter:  ratelimit.New(cfg.RateLimit),
		authFail: ratelimit.New(cfg.AuthFailureLimit),
		metrics:  newMetrics(),
	}
	var err error
	if g.guard, err = guard.New(cfg.Guard); err != nil {
		return nil, fmt.Errorf("input guard: %w", err)
	}
	client := providers.NewHTTPClient()
	sc := cfg.Safety
	sc.HTTPClient = client
	if g.safety, err = safety.New(sc); err != nil {
		return nil, fmt.Errorf("safety: %w", err)
	}
	ps, keys := buildProviders(cfg, client)
	g.cascade = providers.NewCascade(cfg.cascadeConfig(ps, keys))
	for _, o := range opts {
		o(g)
	}
	g.routesSetup()
	return g, nil
}

func buildProviders(cfg *Config, client *http.Client) ([]providers.Provider, map[string]providers.KeySource) {
	var ps []providers.Provider
	keys := map[string]providers.KeySource{}
	for _, p := range cfg.ActiveProviders() {
		key := cfg.Secrets.Source(p.KeyVar)
		keys[p.Name] = key
		switch p.Name {
		case "demo":
			ps = append(ps, providers.NewDemo())
		case "gemini":
			ps = append(ps, providers.NewGemini(providers.GeminiConfig{
				BaseURL: p.BaseURL, Model: p.Model, Key: key, HTTPClient: client}))
		case "groq":
			ps = append(ps, providers.NewGroq(providers.OpenAIConfig{
				Name: "groq", BaseURL: p.BaseURL, Model: p.Model, Key: key, HTTPClient: client}))
		case "openrouter":
			ps = append(ps, providers.NewOpenRouter(providers.OpenAIConfig{
				Name: "openrouter", BaseURL: p.BaseURL, Model: p.Model, Key: key, HTTPClient: client,
				Headers: map[string]string{"HTTP-Referer": cfg.OpenRouterRef, "X-OpenRouter-Title": cfg.OpenRouterTitle, "X-Title": cfg.OpenRouterTitle}}))
		case "openai":
			ps = append(ps, providers.NewOpenAI(providers.OpenAIConfig{
				Name: "openai", BaseURL: p.BaseURL, Model: p.Model, Key: key, HTTPClient: client}))
		case "anthropic":
			ps = append(ps, providers.NewAnthropic(providers.AnthropicConfig{
				BaseURL: p.BaseURL, Model: p.Model, Key: key, HTTPClient: client}))
		default: // CUSTOM_PROVIDERS: any OpenAI-compatible endpoint
			ps = append(ps, providers.NewOpenAICompatible(providers.OpenAIConfig{
				Name: p.Name, BaseURL: p.BaseURL, Model: p.Model, Key: key, HTTPClient: client, KeyOptional: true}))
		}
	}
	return ps, keys
}

func (g *Gateway) handle(method, path string, h http.HandlerFunc) {
	g.mux.HandleFunc(method+" "+path, h)
	if path == "/{$}" {
		path = "/"
	}
	g.routes = append(g.routes, Route{method, path})
}

// Routes lists every method and path served, for the OpenAPI check.
func (g *Gateway) Routes() []Route { return g.routes }

// ServeHTTP runs one request: request id, panic recovery, routing, JSON
// 404/405, and the log line and metrics once the answer is written.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s := &reqState{start: start}
	if id, ok := r.Context().Value(platformIDKey).(string); ok && id != "" {
		s.id, s.platform = id, true
	} else if in := r.Header.Get("X-Request-Id"); validIncomingID(in) {
		s.id = in
	} else {
		s.id = newRequestID()
	}
	s.clientIP = clientIP(r, g.cfg.TrustedProxyHops)
	// REQUEST_TIMEOUT counts from arrival, so time spent parsing or queued
	// for CPU under load comes out of the same budget.
	ctx, cancel := context.WithTimeout(contextWithState(r.Context(), s), g.cfg.RequestTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	rw := &statusWriter{ResponseWriter: w}
	rw.Header().Set("X-Request-Id", s.id)

	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			g.log.ErrorContext(ctx, "panic recovered", slog.String("request_id", s.id),
				slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
			s.errorKind = "panic"
			if !rw.wrote {
				writeDetail(rw, r, http.StatusInternalServerError, "Internal Server Error")
			}
		}
		latency := time.Since(start)
		g.metrics.record(s, rw.status(), latency)
		g.logRequest(ctx, r, s, rw.status(), latency)
	}()

	h, pattern := g.mux.Handler(r)
	if pattern == "" {
		g.notRouted(rw, r, h)
		return
	}
	s.route = pattern
	h.ServeHTTP(rw, r)
}

// notRouted turns the mux's plain-text 404/405 into JSON, keeping Allow.
func (g *Gateway) notRouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	state(r.Context()).route = "unmatched"
	if allow := rec.header.Get("Allow"); allow != "" && rec.code == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", allow)
		writeDetail(w, r, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	writeDetail(w, r, http.StatusNotFound, "Not Found")
}

type headerRecorder struct {
	header http.Header
	code   int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.code = code }

// statusWriter remembers the status for the log line. It passes Flush
// through via Unwrap, so http.ResponseController keeps working.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// readBody reads at most MaxBodyBytes. It answers 413 itself and returns
// false when the body is larger.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	return readBodyWith(w, r, func(status int, msg string) { writeDetail(w, r, status, msg) })
}

// readBodyWith is readBody with the route's own error shape.
func readBodyWith(w http.ResponseWriter, r *http.Request, fail func(status int, msg string)) ([]byte, bool) {
	const tooLarge = "Request body too large: the limit is 65536 bytes"
	if r.ContentLength > MaxBodyBytes {
		fail(http.StatusRequestEntityTooLarge, tooLarge)
		return nil, false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			fail(http.StatusRequestEntityTooLarge, tooLarge)
			return nil, false
		}
		fail(http.StatusBadRequest, "Could not read the request body")
		return nil, false
	}
	return data, true
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', 6, 64) }

func itoa(i int) string { return strconv.Itoa(i) }
