package function

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/llm-secure-gateway/gateway/function/safety"

	"github.com/llm-secure-gateway/gateway/function/guard"
	"github.com/llm-secure-gateway/gateway/providers"
)

// sseWriter writes OpenAI's server-sent events and flushes each one. It
// flushes through http.ResponseController, which reaches the platform's
// writer through Unwrap; Lambda's streaming writer has no Flush but streams
// every Write anyway, so "not supported" is fine.
type sseWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
}

func newSSE(w http.ResponseWriter) *sseWriter {
	return &sseWriter{w: w, rc: http.NewResponseController(w)}
}

func (s *sseWriter) start(provider string) {
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no")
	if provider != "" {
		h.Set("X-Gateway-Provider", provider)
	}
	s.w.WriteHeader(http.StatusOK)
	s.started = true
}

func (s *sseWriter) event(v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.raw(buf)
}

func (s *sseWriter) raw(data []byte) error {
	out := make([]byte, 0, len(data)+8)
	out = append(out, "data: "...)
	out = append(out, data...)
	out = append(out, "\n\n"...)
	if _, err := s.w.Write(out); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

func (s *sseWriter) done() error { return s.raw([]byte("[DONE]")) }

type chunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint *string       `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	Usage             *usageJSON    `json:"usage"`
	Gateway           *gatewayInfo  `json:"x_gateway,omitempty"`
}

type chunkChoice struct {
	Index        int        `json:"index"`
	Delta        chunkDelta `json:"delta"`
	Logprobs     *struct{}  `json:"logprobs"`
	FinishReason *string    `json:"finish_reason"`
}

type chunkDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

// streamChat answers stream:true. The cascade holds back each provider's
// opening events until real content arrives, so any failure before that is
// an ordinary JSON error with the right status (and the cascade falls over);
// once the first byte is out, a failure ends the stream with an error event
// and no [DONE], which the SDKs report as an error rather than a short answer.
func (g *Gateway) streamChat(w http.ResponseWriter, r *http.Request, cascade *providers.Cascade, preq providers.Request, req *ChatRequest, v guard.Verdict, confidential []string) {
	s := state(r.Context())
	ctx := r.Context() // carries REQUEST_TIMEOUT

	// AI safety runs beside the stream; a flagged verdict before the first
	// byte is a 400, after it the stream is cut with an error event.
	var safetyCh <-chan safety.Verdict
	if g.safety.Enabled() {
		safetyCh = g.startSafety(ctx, preq)
	}
	o := outcome{safetyRan: safetyCh != nil}
	live, err := cascade.Stream(ctx, preq, g.cfg.StreamIdleTimeout)
	if err != nil {
		o.err = err
		if safetyCh != nil {
			o.safety = <-safetyCh
		}
		g.noteOutcome(r, o)
		if o.safety.Flagged {
			writeOAIError(w, r, http.StatusBadRequest, "invalid_request_error", "content_blocked",
				"Request blocked by safety check: "+strings.Join(o.safety.Categories, ", "), "messages")
			return
		}
		g.cascadeFailedOAI(w, r, o)
		return
	}
	defer live.Close()
	// The first content is in hand. Wait for a pending safety verdict now,
	// before anything is sent: a block must never follow half an answer.
	if safetyCh != nil {
		o.safety = <-safetyCh
		safetyCh = nil
		if o.safety.Flagged {
			live.Close()
			s.steps = live.Steps()
			s.safetyChecker, s.safetyFlagged, s.safetyMS = o.safety.Checker, true, o.safety.LatencyMS
			writeOAIError(w, r, http.StatusBadRequest, "invalid_request_error", "content_blocked",
				"Request blocked by safety check: "+strings.Join(o.safety.Categories, ", "), "messages")
			return
		}
	}
	s.provider, s.model = live.Provider(), live.Model()

	sse := newSSE(w)
	sse.start(live.Provider())
	model := live.Model()
	base := chunk{ID: "chatcmpl-" + s.id, Object: "chat.completion.chunk", Created: time.Now().Unix(), Model: model}
	send := func(delta chunkDelta, finish *string) bool {
		c := base
		c.Choices = []chunkChoice{{Delta: delta, FinishReason: finish}}
		return sse.event(c) == nil
	}
	empty := ""
	if !send(chunkDelta{Role: "assistant", Content: &empty}, nil) {
		return
	}
	sg := newStreamGuard(g.guard, restoreMap(g.cfg.PIIRestore, v), confidential)
	finish := ""
	for {
		ch, err := live.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.steps = live.Steps()
			s.errorKind = "stream_failed_after_first_byte"
			// Whatever was held back is not released: the answer is
			// incomplete, and the client is told so.
			_ = sse.event(oaiError{oaiErrorBody{Message: "The provider stream failed: " + streamReason(err),
				Type: "server_error", Code: strp("stream_interrupted"), RequestID: s.id}})
			return
		}
		if ch.FinishReason != "" {
			finish = ch.FinishReason
		}
		if ch.Text != "" {
			out := sg.push(ch.Text)
			if sg.leaked {
				g.streamLeak(sse, s)
				return
			}
			if out != "" && !send(chunkDelta{Content: &out}, nil) {
				return
			}
		}
	}
	out := sg.flush()
	if sg.leaked {
		g.streamLeak(sse, s)
		return
	}
	if out != "" && !send(chunkDelta{Content: &out}, nil) {
		return
	}
	fr := finishReason(finish)
	if !send(chunkDelta{}, &fr) {
		return
	}
	u := live.Usage()
	cost := live.CostUSD()
	s.steps, s.usage, s.costUSD = live.Steps(), &u, cost
	if req.IncludeUsage {
		c := base
		c.Choices = []chunkChoice{}
		c.Usage = &usageJSON{u.PromptTokens, u.CompletionTokens, u.TotalTokens}
		c.Gateway = &gatewayInfo{Provider: live.Provider(), CascadePath: live.Steps(), Cost: cost, Safety: reportSafety(o), RequestID: s.id}
		if sse.event(c) != nil {
			return
		}
	}
	_ = sse.done()
}

// streamLeak ends a stream whose answer began repeating a confidential
// system prompt: the repeated part was never sent.
func (g *Gateway) streamLeak(sse *sseWriter, s *reqState) {
	s.guardCategories = append(s.guardCategories, guard.CategoryLeak)
	s.errorKind = "output_guard_leak"
	_ = sse.event(oaiError{oaiErrorBody{Message: withheld, Type: "invalid_request_error",
		Code: strp("content_filter"), RequestID: s.id}})
}

func restoreMap(enabled bool, v guard.Verdict) map[string]string {
	if !enabled {
		return nil
	}
	return v.Placeholders
}

func safetyMessages(req providers.Request) []safety.Message {
	msgs := make([]safety.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = safety.Message{Role: m.Role, Content: m.Content}
	}
	return msgs
}

// streamReason is the client-safe text of a mid-stream failure.
func streamReason(err error) string {
	if pe, ok := errors.AsType[*providers.Error](err); ok {
		return providers.Reason(pe)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "gateway timeout"
	}
	return "upstream error"
}
