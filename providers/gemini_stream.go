package providers

import (
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
	h, err := g.header(ctx)
	if err != nil {
		return nil, err
	}
	return openStream(ctx, g.client, sseOpen{
		provider:    NameGemini,
		endpoint:    g.base + "/models/" + url.PathEscape(g.model) + ":streamGenerateContent?alt=sse",
		header:      h,
		body:        g.buildRequest(req),
		maxBody:     g.maxBody,
		statusError: func(up *upstream) *Error { return geminiStatusError(up, time.Now()) },
		whole:       decodeGemini,
	}, func(conn *sseConn) Stream { return &geminiStream{sseConn: conn, model: g.model} })
}

type geminiStream struct {
	*sseConn
	model    string
	finished bool // a candidate carried a finishReason
}

func (s *geminiStream) Next() (Chunk, error) { return s.deliver(s.next) }

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
		if err := r.promptBlocked(); err != nil {
			return Chunk{}, err
		}
		if r.ModelVersion != "" {
			s.model = r.ModelVersion
		}
		out := Chunk{Model: s.model, Usage: r.usage()}
		if len(r.Candidates) > 0 {
			c := &r.Candidates[0]
			if err := c.safetyStop(); err != nil {
				return Chunk{}, err
			}
			var toolCall bool
			out.Text, toolCall = c.text()
			out.FinishReason = geminiFinishReason(c.FinishReason, toolCall)
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
