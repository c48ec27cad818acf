package providers

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// Stream wire types (providers.md §2.4, §2.6).
type (
	// oaStreamRequest adds the streaming switches to the ordinary request;
	// the embedded pointer's fields are flattened by encoding/json.
	oaStreamRequest struct {
		*oaRequest
		Stream        bool            `json:"stream"`
		StreamOptions oaStreamOptions `json:"stream_options"`
	}
	oaStreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	}

	oaUsage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
		TotalTokens      int `json:"total_tokens"`
	}
	oaChunk struct {
		Model   string `json:"model"`
		Choices []struct {
			Delta struct {
				Content oaContent `json:"content"`
				Refusal *string   `json:"refusal"`
			} `json:"delta"`
			FinishReason *string  `json:"finish_reason"`
			Error        *oaError `json:"error"`
		} `json:"choices"`
		Usage *oaUsage `json:"usage"`
		Error *oaError `json:"error"`
		// Groq: x_groq.error explains an early stop; x_groq.usage comes on
		// the last chunk even without include_usage.
		XGroq *struct {
			Error string   `json:"error"`
			Usage *oaUsage `json:"usage"`
		} `json:"x_groq"`
	}
)

func (u *oaUsage) usage() *Usage {
	if u == nil {
		return nil
	}
	return &Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
		TotalTokens: cmp.Or(u.TotalTokens, u.PromptTokens+u.CompletionTokens), Reported: true}
}

// header builds the request headers: configured extras first, so they can
// never replace the key or the content negotiation.
func (o *OpenAICompatible) header(key string) http.Header {
	h := make(http.Header, len(o.headers)+4)
	for k, v := range o.headers {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Content-Type", "Accept", "Accept-Encoding":
			continue
		}
		h.Set(k, v)
	}
	if key != "" {
		h.Set("Authorization", "Bearer "+key)
	}
	h.Set("User-Agent", userAgent)
	return h
}

// Stream calls chat/completions with stream:true and include_usage.
func (o *OpenAICompatible) Stream(ctx context.Context, req Request) (Stream, error) {
	key, err := o.currentKey(ctx)
	if err != nil {
		return nil, err
	}
	return openStream(ctx, o.client, sseOpen{
		provider: o.name,
		endpoint: o.endpoint,
		header:   o.header(key),
		body: &oaStreamRequest{oaRequest: o.buildRequest(req), Stream: true,
			StreamOptions: oaStreamOptions{IncludeUsage: true}},
		maxBody:     o.maxBody,
		statusError: func(up *upstream) *Error { return openAIStatusError(o.name, up, time.Now()) },
		whole:       func(b []byte) (*Response, error) { return decodeOpenAI(o.name, b) },
	}, func(conn *sseConn) Stream { return &oaStream{sseConn: conn, model: o.model} })
}

// oaStream reads chat.completion.chunk events up to data: [DONE].
type oaStream struct {
	*sseConn
	model string // configured model, until the provider names one
	text  bool   // content has been emitted
}

func (s *oaStream) Next() (Chunk, error) { return s.deliver(s.next) }

func (s *oaStream) next() (Chunk, error) {
	for {
		ev, err := s.event()
		if errors.Is(err, io.EOF) {
			return Chunk{}, noTerminator(s.provider)
		}
		if err != nil {
			return Chunk{}, err
		}
		if string(ev.Data) == "[DONE]" {
			return Chunk{}, io.EOF
		}
		var c oaChunk
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			if ev.Event == "error" {
				return Chunk{}, s.bodyError(nil)
			}
			return Chunk{}, malformedChunk(s.provider, err)
		}
		if c.Error != nil || ev.Event == "error" {
			return Chunk{}, s.bodyError(c.Error)
		}
		if c.XGroq != nil && c.XGroq.Error != "" {
			// Free text: never echoed.
			return Chunk{}, s.bodyError(nil)
		}
		if c.Model != "" {
			s.model = c.Model
		}
		out := Chunk{Model: s.model, Usage: c.Usage.usage()}
		if out.Usage == nil && c.XGroq != nil {
			out.Usage = c.XGroq.Usage.usage()
		}
		if len(c.Choices) > 0 {
			ch := c.Choices[0]
			if ch.Error != nil {
				return Chunk{}, s.bodyError(ch.Error)
			}
			out.Text = string(ch.Delta.Content)
			if out.Text == "" && ch.Delta.Refusal != nil {
				// A refusal is the model's answer, as in Complete.
				out.Text = *ch.Delta.Refusal
			}
			if ch.FinishReason != nil {
				switch *ch.FinishReason {
				case "error":
					return Chunk{}, s.bodyError(nil)
				case "content_filter":
					if !s.text && out.Text == "" {
						return Chunk{}, safetyError(s.provider, "content_filter", []string{"content_filter"})
					}
				}
				out.FinishReason = *ch.FinishReason
			}
		}
		if out.Text == "" && out.FinishReason == "" && out.Usage == nil {
			continue // role-only or reasoning delta: nothing for the client
		}
		if out.Text != "" {
			s.text = true
		}
		return out, nil
	}
}

func (s *oaStream) bodyError(e *oaError) *Error {
	return &Error{Provider: s.provider, Kind: KindBody, Status: http.StatusOK, Code: e.code(), Message: "error in stream"}
}
