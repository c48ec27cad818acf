package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// maxHeldChunks bounds the chunks held back before the first content: a
// provider that sends endless empty chunks fails rather than grows memory
// until the attempt timeout.
const maxHeldChunks = 512

// Stream tries providers in order like Complete. It holds back each
// provider's opening events until the first chunk with real content (Text !=
// "") or a clean end arrives, so a provider that fails at start-up (HTTP
// error, error event, stall, cut connection, malformed first chunk) still
// falls over to the next one. A clean end without any text counts as an empty
// answer and falls over too, as it does in Complete.
//
// Up to the first content a stream attempt is treated exactly like a
// buffered call: the same order, the same cool-down skips with cooling
// providers asked as a last resort, the same same-provider retries
// (RetryMax, backoff honouring Retry-After, deadline share), the same key
// refresh, and with HedgeAfter the same hedging, where a stream counts as
// answered at its first content. After content was handed out nothing is
// retried or asked again: a failure is the stream's final error.
//
// idle bounds the wait for the response headers and then for each event
// (STREAM_IDLE_TIMEOUT; 0 = no idle bound beyond ctx); bytes that carry no
// event, such as keep-alive comments, count as life. The attempt timeout
// (or, with retries on, the turn's deadline share if shorter) bounds only
// the time to the first content, never a long answer; ctx bounds
// everything, and canceling it closes the upstream connection. Providers
// that are not Streamers are run through Complete and replayed as one chunk.
// Failure before any content is a *CascadeError exactly like Complete's
// (steps, Blocked, Timeout, Canceled).
//
// The caller must Close the LiveStream.
func (c *Cascade) Stream(ctx context.Context, req Request, idle time.Duration) (*LiveStream, error) {
	if c.hedgeAfter > 0 && len(c.providers) > 1 {
		return c.hedgedStream(ctx, req, idle)
	}
	steps := make([]Step, 0, len(c.providers)+1)
	var ls *LiveStream
	// The same order, cool-downs and last resorts as Complete.
	err := c.inOrder(ctx, &steps, func(i, left int, lastResort bool) (err error) {
		ls, err = c.streamTurn(ctx, i, req, idle, &steps, left, lastResort)
		return err
	})
	if err != nil {
		return nil, err
	}
	ls.steps = steps
	return ls, nil
}

// streamTurn is turn for a stream: before its first content a stream
// attempt is just a call, retried and key-refreshed like Complete's.
func (c *Cascade) streamTurn(ctx context.Context, i int, req Request, idle time.Duration, steps *[]Step, left int, lastResort bool) (*LiveStream, error) {
	p := c.providers[i]
	var ls *LiveStream
	err := c.retrying(ctx, i, steps, left, lastResort, func(timeout time.Duration) error {
		return c.withFreshKey(ctx, p, func() (err error) {
			ls, err = c.streamTry(ctx, p, req, idle, steps, timeout)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return ls, nil
}

// streamTry opens one provider's stream, reads up to its first content under
// the attempt timeout, and records the step.
func (c *Cascade) streamTry(ctx context.Context, p Provider, req Request, idle time.Duration, steps *[]Step, timeout time.Duration) (*LiveStream, error) {
	actx, cancel := context.WithCancel(ctx)
	// A timer rather than context.WithTimeout: the deadline must stop
	// applying once content flows, and a context deadline cannot be lifted.
	deadline := time.AfterFunc(timeout, cancel)
	start := time.Now()

	ls := &LiveStream{provider: p.Name(), model: p.Model(), pricing: c.pricing, cancel: cancel}
	err := ls.open(actx, p, req, idle)
	// Stop fails only if the deadline fired: the attempt ran out of time even
	// if content raced in, and the stream is canceled anyway.
	attemptExpired := !deadline.Stop() && ctx.Err() == nil
	latency := time.Since(start)
	stalled := errors.Is(err, errStalled)
	if attemptExpired {
		err = &Error{Provider: p.Name(), Kind: KindTimeout, Message: "timeout", Err: context.DeadlineExceeded}
	}

	step := Step{Provider: p.Name(), Model: p.Model(), Status: StepSuccess, LatencyMS: latency.Milliseconds()}
	if err != nil {
		ls.Close()
		var reason string
		switch {
		case stalled && ctx.Err() == nil && !attemptExpired:
			step.Status, reason = StepTimeout, fmt.Sprintf("%s (no data for %s)", msgStalled, idle)
		default:
			limit := timeout
			if limit != c.timeout {
				// A deadline share, as attemptFor reports it.
				limit = limit.Round(time.Millisecond)
			}
			step.Status, reason = c.classify(ctx, err, attemptExpired, limit)
		}
		step.Reason = &reason
		*steps = append(*steps, step)
		return nil, err
	}
	*steps = append(*steps, step)
	return ls, nil
}

// errStalled marks (errors.Is) a stream the idle watchdog aborted.
var errStalled = errors.New(msgStalled)

// LiveStream is the streaming cascade's answer: one provider's stream, its
// held-back opening chunks first. Next and Close may be called from different
// goroutines; Next itself is not for concurrent use.
type LiveStream struct {
	provider string
	model    string
	pricing  Pricing
	steps    []Step

	cancel  context.CancelFunc // the attempt's context: aborts the upstream
	release context.CancelFunc // a hedge's context around it (nil without hedging)
	cur     Stream
	dog     *watchdog // nil without an idle bound
	held    []Chunk
	text    bool // some chunk carried text

	mu    sync.Mutex // guards usage, read by Usage/CostUSD from any goroutine
	usage Usage

	err       error // sticky: io.EOF or the final *Error
	closeOnce sync.Once
}

// open starts p's stream and holds back chunks up to the first content or a
// clean end.
func (s *LiveStream) open(ctx context.Context, p Provider, req Request, idle time.Duration) error {
	sp, ok := p.(Streamer)
	if !ok {
		// A plain Provider answers at once or not at all: the attempt timeout
		// bounds it, and the idle bound would only misread a slow answer.
		resp, err := p.Complete(ctx, req)
		if err != nil {
			return err
		}
		if resp == nil {
			return &Error{Provider: p.Name(), Kind: KindEmpty, Message: "empty response"}
		}
		s.cur = &replayStream{resp: resp}
	} else {
		if idle > 0 {
			s.dog = newWatchdog(idle, s.abort)
			s.dog.arm(nil)
		}
		st, err := sp.Stream(ctx, req)
		if s.dog != nil && s.dog.disarm() {
			if st != nil {
				st.Close()
			}
			return s.stallError(err)
		}
		if err != nil {
			return err
		}
		if st == nil {
			return &Error{Provider: p.Name(), Kind: KindEmpty, Message: "empty response"}
		}
		s.cur = st
	}
	for {
		ch, err := s.recv()
		if errors.Is(err, io.EOF) {
			if !s.text {
				return &Error{Provider: p.Name(), Kind: KindEmpty, Message: emptyMessage(s.held)}
			}
			s.err = io.EOF
			return nil
		}
		if err != nil {
			return err
		}
		s.held = append(s.held, ch)
		if ch.Text != "" {
			return nil
		}
		if len(s.held) > maxHeldChunks {
			return &Error{Provider: p.Name(), Kind: KindMalformed, Message: "no content in stream"}
		}
	}
}

func emptyMessage(held []Chunk) string {
	for _, ch := range held {
		if ch.FinishReason == "length" {
			return "empty response (max tokens reached)"
		}
	}
	return "empty response"
}

// recv reads one chunk from the upstream under the idle watchdog.
func (s *LiveStream) recv() (Chunk, error) {
	if s.dog != nil {
		if a, ok := s.cur.(interface{ lastActivity() time.Time }); ok {
			s.dog.arm(a.lastActivity)
		} else {
			s.dog.arm(nil)
		}
	}
	ch, err := s.cur.Next()
	if s.dog != nil && s.dog.disarm() {
		return Chunk{}, s.stallError(err)
	}
	if err != nil {
		return Chunk{}, err
	}
	if ch.Text != "" {
		s.text = true
	}
	if ch.Usage != nil {
		s.mu.Lock()
		s.usage = *ch.Usage
		s.mu.Unlock()
	}
	return ch, nil
}

func (s *LiveStream) stallError(cause error) *Error {
	return &Error{Provider: s.provider, Kind: KindTimeout, Message: msgStalled, Err: errors.Join(errStalled, cause)}
}

// Provider is the name of the provider that is streaming.
func (s *LiveStream) Provider() string { return s.provider }

// Model is the configured model of that provider, for pricing; chunks carry
// the model the provider itself reports.
func (s *LiveStream) Model() string { return s.model }

// Steps returns the cascade steps in provider order. The provider streaming
// has status success and the latency to its first content; it is the last
// step unless a hedge raced a later provider (whose step is then "hedged:
// lost").
func (s *LiveStream) Steps() []Step { return slices.Clone(s.steps) }

// Next returns the held-back chunks first, then reads on. After the first
// content an error is final: the stream does not fall over any more, and
// every later call returns the same error.
func (s *LiveStream) Next() (Chunk, error) {
	if len(s.held) > 0 {
		ch := s.held[0]
		s.held[0] = Chunk{}
		s.held = s.held[1:]
		return ch, nil
	}
	if s.err != nil {
		return Chunk{}, s.err
	}
	ch, err := s.recv()
	if err != nil {
		s.err = err
		s.Close()
		return Chunk{}, err
	}
	return ch, nil
}

// Usage is the last usage the provider reported (Reported=false if none).
func (s *LiveStream) Usage() Usage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.usage
}

// CostUSD prices Usage() for the configured model; nil when unknown.
func (s *LiveStream) CostUSD() *float64 {
	return s.pricing.Cost(s.provider, s.model, s.Usage())
}

// abort cancels the upstream request without waiting: safe from the
// watchdog's goroutine while Next is blocked in a read.
func (s *LiveStream) abort() { s.cancel() }

// Close releases the upstream connection. It is safe to call twice and from
// another goroutine while Next is blocked (Next then returns an error).
func (s *LiveStream) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.dog != nil {
			s.dog.stop()
		}
		if s.cur != nil {
			s.cur.Close()
		}
		if s.release != nil {
			s.release()
		}
	})
	return nil
}

// watchdog aborts a read that has seen no bytes for idle. It is one reusable
// timer per stream; a firing timer whose stream read bytes since re-arms for
// the remainder instead.
type watchdog struct {
	idle  time.Duration
	abort func()

	mu       sync.Mutex
	timer    *time.Timer
	armed    bool
	since    time.Time
	activity func() time.Time
	fired    bool
}

func newWatchdog(idle time.Duration, abort func()) *watchdog {
	return &watchdog{idle: idle, abort: abort}
}

// arm starts the idle clock; activity (may be nil) reports the last bytes read.
func (w *watchdog) arm(activity func() time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed, w.fired = true, false
	w.since, w.activity = time.Now(), activity
	if w.timer == nil {
		w.timer = time.AfterFunc(w.idle, w.fire)
	} else {
		w.timer.Reset(w.idle)
	}
}

// disarm stops the clock and reports whether it fired since arm.
func (w *watchdog) disarm() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	w.timer.Stop()
	return w.fired
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.armed = false
	if w.timer != nil {
		w.timer.Stop()
	}
}

func (w *watchdog) fire() {
	w.mu.Lock()
	if !w.armed {
		w.mu.Unlock()
		return
	}
	last := w.since
	if w.activity != nil {
		if a := w.activity(); a.After(last) {
			last = a
		}
	}
	if wait := w.idle - time.Since(last); wait > 0 {
		w.timer.Reset(wait)
		w.mu.Unlock()
		return
	}
	w.fired, w.armed = true, false
	w.mu.Unlock()
	w.abort()
}
