package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Stream calls streamGenerateContent?alt=sse (providers.md §1.5). Each event
// is a whole GenerateContentResponse carrying only the new text; there is no
// [DONE]: EOF after a candidate with a finishReason is the clean end.
func (g *Gemini) Stream(ctx context.Context, req Request) (Stream, error) {
	key, err := keyFor(ctx, NameGemini, g.key)
	if err != nil {
		return nil, err
	}
	h := make(http.Header, 4)
	h.Set("x-goog-api-key", key)
	h.Set("User-Agent", userAgent)
	conn, whole, err := openSSE(ctx, g.client, sseOpen{
		provider:    NameGemini,
		endpoint:    g.base + "/models/" + url.PathEscape(g.model) + ":streamGenerateContent?alt=sse",
		header:      h,
		body:        g.buildRequest(req),
		maxBody:     g.maxBody,
		statusError: func(up *upstream) *Error { return geminiStatusError(up, time.Now()) },
		whole:       decodeGemini,
	})
	if err != nil {
		return nil, err
	}
	if whole != nil {
		return &replayStream{resp: whole.resp}, nil
	}
	return &geminiStream{sseConn: conn, model: g.model}, nil
}

type geminiStream struct {
	*sseConn
	model    string
	finished bool // a candidate carried a finishReason
	done     bool
	err      error
}

func (s *geminiStream) Next() (Chunk, error) {
	if s.done {
		return Chunk{}, cmp.Or(s.err, io.EOF)
	}
	ch, err := s.next()
	if err != nil {
		s.done, s.err = true, err
		if errors.Is(err, io.EOF) {
			s.finish()
		} else {
			s.Close()
		}
	}
	return ch, err
}

func (s *geminiStream) next() (Chunk, error) {
	for {
		ev, err := s.event()
		if errors.Is(err, io.EOF) {
			if s.finished {
				return Chunk{}, io.EOF
			}
			return Chunk{}, noTerminator(NameGemini)
		}
		if err != nil {
			return Chunk{}, err
		}
		var r geminiResponse
		if err := json.Unmarshal(ev.Data, &r); err != nil {
			return Chunk{}, malformedChunk(NameGemini, err)
		}
		// Google sends a mid-stream failure as a bare {"error":...} line; a
		// data: event with an error key is treated the same.
		if r.Error != nil {
			return Chunk{}, &Error{Provider: NameGemini, Kind: KindBody, Status: http.StatusOK,
				Code: safeCode(r.Error.Status), Message: "error in stream"}
		}
		if ev.Bare {
			return Chunk{}, malformedChunk(NameGemini, errors.New("unexpected non-SSE line"))
		}
		if pf := r.PromptFeedback; pf != nil && pf.BlockReason != "" {
			return Chunk{}, safetyError(NameGemini, pf.BlockReason, geminiCategories(pf.SafetyRatings, pf.BlockReason))
		}
		if r.ModelVersion != "" {
			s.model = r.ModelVersion
		}
		out := Chunk{Model: s.model}
		if u := r.UsageMetadata; u != nil {
			out.Usage = &Usage{
				PromptTokens:     u.PromptTokenCount + u.ToolUsePromptTokenCount,
				CompletionTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
				TotalTokens:      u.TotalTokenCount,
				Reported:         true,
			}
			if out.Usage.TotalTokens == 0 {
				out.Usage.TotalTokens = out.Usage.PromptTokens + out.Usage.CompletionTokens
			}
		}
		if len(r.Candidates) > 0 {
			c := r.Candidates[0]
			if geminiSafetyFinish(c.FinishReason) {
				var ratings []geminiRating
				_ = json.Unmarshal(c.SafetyRatings, &ratings) // best effort: the reason stands in
				return Chunk{}, safetyError(NameGemini, c.FinishReason, geminiCategories(ratings, c.FinishReason))
			}
			toolCall := false
			if c.Content != nil {
				for _, p := range c.Content.Parts {
					if p.Thought {
						continue
					}
					if len(p.FunctionCall) > 0 {
						toolCall = true
					}
					// One text part per event is the norm: no copy then.
					out.Text += p.Text
				}
			}
			switch {
			case c.FinishReason == "":
			case toolCall:
				out.FinishReason = "tool_calls"
			case c.FinishReason == "MAX_TOKENS":
				out.FinishReason = "length"
			default:
				out.FinishReason = "stop"
			}
			if out.FinishReason != "" {
				s.finished = true
			}
		}
		if out.Text == "" && out.FinishReason == "" && out.Usage == nil {
			continue
		}
		return out, nil
	}
}
