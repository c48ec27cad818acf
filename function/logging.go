package function

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// NewLogger returns a JSON logger whose field names Cloud Logging and
// CloudWatch read: "severity" and "message" instead of slog's "level"/"msg".
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) > 0 {
				return a
			}
			switch a.Key {
			case slog.LevelKey:
				a.Key = "severity"
				if lvl, ok := a.Value.Any().(slog.Level); ok && lvl == slog.LevelWarn {
					a.Value = slog.StringValue("WARNING")
				}
			case slog.MessageKey:
				a.Key = "message"
			}
			return a
		},
	}))
}

// traceField turns X-Cloud-Trace-Context ("TRACE/SPAN;o=1") or a W3C
// traceparent ("00-TRACE-SPAN-01") into Cloud Logging's trace field.
func traceField(r *http.Request, project string) (trace, span string) {
	if h := r.Header.Get("X-Cloud-Trace-Context"); h != "" {
		t, rest, _ := strings.Cut(h, "/")
		span, _, _ = strings.Cut(rest, ";")
		trace = t
	} else if h := r.Header.Get("Traceparent"); h != "" {
		parts := strings.Split(h, "-")
		if len(parts) == 4 {
			trace, span = parts[1], parts[2]
		}
	}
	if trace == "" || !isHex(trace) || len(trace) > 32 {
		return "", ""
	}
	if !isAlnum(span) || len(span) > 24 {
		span = ""
	}
	if project != "" {
		trace = "projects/" + project + "/traces/" + trace
	}
	return trace, span
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// logRequest writes the one line per request. It holds no prompt, answer or
// key: only the route, outcome, provider, cascade summary, guard verdict,
// tokens and cost (the prompt only when LOG_PROMPTS=true).
func (g *Gateway) logRequest(ctx context.Context, r *http.Request, s *reqState, status int, latency time.Duration) {
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	}
	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs,
		slog.String("request_id", s.id),
		slog.String("route", s.route),
		slog.Int("status", status),
		slog.Float64("latency_ms", float64(latency.Microseconds())/1000),
		slog.Group("httpRequest",
			slog.String("requestMethod", r.Method),
			slog.String("requestUrl", r.URL.Path),
			slog.Int("status", status),
			slog.String("latency", strconvSeconds(latency)),
			slog.String("remoteIp", s.clientIP),
			slog.String("userAgent", truncate(r.UserAgent(), 200)),
		),
	)
	if s.platform {
		attrs = append(attrs, slog.String("aws_request_id", s.id))
	}
	if trace, span := traceField(r, g.cfg.GoogleProject); trace != "" {
		attrs = append(attrs, slog.String("logging.googleapis.com/trace", trace))
		if span != "" {
			attrs = append(attrs, slog.String("logging.googleapis.com/spanId", span))
		}
	}
	if s.keyID != "" {
		attrs = append(attrs, slog.String("key_id", s.keyID))
	}
	if s.provider != "" {
		attrs = append(attrs, slog.String("provider", s.provider), slog.String("model", s.model))
	}
	if len(s.steps) > 0 {
		var b strings.Builder
		for i, st := range s.steps {
			if i > 0 {
				b.WriteString(" > ")
			}
			b.WriteString(st.Provider + ":" + st.Status)
		}
		attrs = append(attrs, slog.String("cascade", b.String()), slog.Int("attempts", len(s.steps)))
	}
	if s.usage != nil {
		attrs = append(attrs, slog.Group("tokens",
			slog.Int("prompt", s.usage.PromptTokens),
			slog.Int("completion", s.usage.CompletionTokens),
			slog.Int("total", s.usage.TotalTokens)))
	}
	if s.costUSD != nil {
		attrs = append(attrs, slog.Float64("cost_usd", *s.costUSD))
	}
	if s.guardBlocked || len(s.guardCategories) > 0 || len(s.piiTypes) > 0 {
		attrs = append(attrs, slog.Group("guard",
			slog.Bool("blocked", s.guardBlocked),
			slog.Any("categories", s.guardCategories),
			slog.Any("pii_types", s.piiTypes),
			slog.Float64("injection_score", s.injectionScore)))
	}
	if s.safetyChecker != "" {
		attrs = append(attrs, slog.Group("safety",
			slog.String("checker", s.safetyChecker),
			slog.Bool("flagged", s.safetyFlagged),
			slog.Int64("latency_ms", s.safetyMS)))
	}
	if s.errorKind != "" {
		attrs = append(attrs, slog.String("error", s.errorKind))
	}
	if g.cfg.LogPrompts && s.prompt != "" {
		attrs = append(attrs, slog.String("prompt", s.prompt))
	}
	g.log.LogAttrs(ctx, level, r.Method+" "+r.URL.Path+" "+http.StatusText(status), attrs...)
}

func strconvSeconds(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(formatFloat(d.Seconds()), "0"), ".") + "s"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
