package providers

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
)

// demoChunkWords is how many words each streamed demo chunk carries, so a
// demo stream arrives in several pieces like a real one.
const demoChunkWords = 4

// Stream answers like Complete, in a few chunks; the last carries the finish
// reason and usage. No network, no goroutine.
func (d *Demo) Stream(ctx context.Context, req Request) (Stream, error) {
	resp, err := d.Complete(ctx, req)
	if err != nil {
		return nil, err
	}
	var parts []string
	words := strings.SplitAfter(resp.Text, " ")
	for i := 0; i < len(words); i += demoChunkWords {
		parts = append(parts, strings.Join(words[i:min(i+demoChunkWords, len(words))], ""))
	}
	return &demoStream{ctx: ctx, parts: parts, resp: resp}, nil
}

type demoStream struct {
	ctx   context.Context
	parts []string
	resp  *Response
	sent  int
	done  atomic.Bool
}

func (s *demoStream) Next() (Chunk, error) {
	if s.done.Load() || s.sent > len(s.parts) {
		return Chunk{}, io.EOF
	}
	if err := s.ctx.Err(); err != nil {
		kind := KindCanceled
		if errors.Is(err, context.DeadlineExceeded) {
			kind = KindTimeout
		}
		return Chunk{}, &Error{Provider: NameDemo, Kind: kind, Message: string(kind), Err: err}
	}
	s.sent++
	if s.sent <= len(s.parts) {
		return Chunk{Text: s.parts[s.sent-1], Model: DemoModel}, nil
	}
	u := s.resp.Usage
	return Chunk{FinishReason: s.resp.FinishReason, Usage: &u, Model: DemoModel}, nil
}

func (s *demoStream) Close() error {
	s.done.Store(true)
	return nil
}
