package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The built-in demo provider (go run ./cmd/gateway -demo).
const (
	NameDemo  = "demo"
	DemoModel = "demo-echo-1"
)

// demoEchoRunes bounds how much of the prompt is echoed back, so the answer
// stays a readable line whatever the prompt size.
const demoEchoRunes = 200

const demoLabel = "[demo provider — no LLM was called]"

var demoLabelRunes = utf8.RuneCountInString(demoLabel)

// Demo answers without any network call, deterministically, and says so in
// the answer so nobody mistakes it for a model.
type Demo struct{}

// NewDemo returns the demo provider.
func NewDemo() *Demo { return &Demo{} }

func (*Demo) Name() string  { return NameDemo }
func (*Demo) Model() string { return DemoModel }

// Complete echoes the last user message with a clear label.
func (*Demo) Complete(ctx context.Context, req Request) (*Response, error) {
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &Error{Provider: NameDemo, Kind: KindTimeout, Message: "timeout", Err: err}
		}
		return nil, &Error{Provider: NameDemo, Kind: KindCanceled, Message: "canceled", Err: err}
	}
	var question string
	promptRunes := 0
	for _, m := range req.Messages {
		promptRunes += utf8.RuneCountInString(m.Content)
		if m.Role == "user" || m.Role == "" {
			question = m.Content
		}
	}
	n := utf8.RuneCountInString(question)
	echo := question
	if n > demoEchoRunes {
		echo = string([]rune(question)[:demoEchoRunes]) + "…"
	}
	body := fmt.Sprintf("You asked: %q (%d characters).", echo, n)

	finish := "stop"
	if req.MaxTokens > 0 && approxTokens(demoLabelRunes+1+utf8.RuneCountInString(body)) > req.MaxTokens {
		// Honour max_tokens like a real model would: cut and say "length".
		// The label is never cut, so even a tiny budget shows it is a demo.
		body = truncateRunes(body, max(0, req.MaxTokens*4-demoLabelRunes-1))
		finish = "length"
	}
	text := demoLabel + " " + body
	completion := approxTokens(utf8.RuneCountInString(text))
	prompt := approxTokens(promptRunes)
	return &Response{
		Text:         text,
		Model:        DemoModel,
		FinishReason: finish,
		Usage:        Usage{PromptTokens: prompt, CompletionTokens: completion, TotalTokens: prompt + completion, Reported: true},
	}, nil
}

// approxTokens is the usual ~4 characters per token rule of thumb.
func approxTokens(runes int) int {
	if runes == 0 {
		return 0
	}
	return (runes + 3) / 4
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			break
		}
		b.WriteRune(r)
		n--
	}
	return b.String()
}
