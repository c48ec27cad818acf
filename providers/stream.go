package providers

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Chunk is one piece of a streamed answer.
type Chunk struct {
	Text         string // content delta ("" for a usage- or finish-only chunk)
	FinishReason string // OpenAI vocabulary, on the chunk that ends the choice
	Usage        *Usage // when the provider reports it (often last)
	Model        string // model the provider reports, when it does
}

// Stream is an open answer. Next returns io.EOF after a clean, terminated
// end. Everything else is a *Error: an error event or an error inside a chunk
// (KindBody), a malformed chunk (KindMalformed), a stream that closes without
// its terminator (KindMalformed, "stream ended without terminator"), a stall
// longer than the idle timeout (KindTimeout, "stream stalled"), the
// provider's safety stop (KindSafety).
//
// Provider streams report the first five; the stall comes from the idle
// watchdog of Cascade.Stream's LiveStream, which owns the idle bound.
//
// Close releases the upstream connection and is safe to call twice. The
// streams in this package also allow Close from another goroutine while Next
// is blocked. A stream read to a clean end has already released its
// connection back to the pool.
type Stream interface {
	Next() (Chunk, error)
	Close() error
}

// Streamer is a Provider that can stream.
type Streamer interface {
	Stream(ctx context.Context, req Request) (Stream, error)
}

// DefaultMaxEventBytes caps one server-sent event. A chunk is a few hundred
// bytes; 1 MiB only stops an upstream that never ends an event from making us
// buffer without bound. There is no cap on a whole stream: ctx bounds it.
const DefaultMaxEventBytes = 1 << 20

// Stream failure messages (Error.Message), stable for tests and logs.
const (
	msgNoTerminator = "stream ended without terminator"
	msgStalled      = "stream stalled"
	msgTooLarge     = "stream event too large"
	msgInterrupted  = "stream interrupted"
)

// errEventTooLarge is the sseReader's answer to an over-long event or line.
var errEventTooLarge = errors.New("server-sent event exceeds the size cap")

// sseEvent is one dispatched server-sent event. Data aliases the reader's
// buffer and is valid only until the next call.
type sseEvent struct {
	Event string // the event: field, "" when absent
	Data  []byte // data: lines joined with "\n"
	// Bare marks a raw JSON line outside any SSE field, which Google's
	// endpoints send for an error after the stream has started.
	Bare bool
}

// sseReader is the one SSE line parser shared by every provider: LF or CRLF
// line ends, ":" comments, "data:" with or without its space, multi-line data,
// named events, and a per-event size cap.
type sseReader struct {
	br    *bufio.Reader
	max   int
	line  []byte // only used for lines longer than the bufio buffer
	data  []byte
	event string
}

func newSSEReader(r io.Reader, maxEvent int) *sseReader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEventBytes
	}
	return &sseReader{br: bufio.NewReaderSize(r, 8<<10), max: maxEvent}
}

// next returns the next event; io.EOF at a clean end of input. A stream cut
// in the middle of a line is io.ErrUnexpectedEOF; an event that ends at EOF
// without its blank line is still dispatched (its lines were complete).
func (r *sseReader) next() (sseEvent, error) {
	r.data = r.data[:0]
	r.event = ""
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			if errors.Is(err, io.EOF) && hasData {
				return sseEvent{Event: r.event, Data: r.data}, nil
			}
			return sseEvent{}, err
		}
		if len(line) == 0 {
			if hasData {
				return sseEvent{Event: r.event, Data: r.data}, nil
			}
			r.event = ""
			continue
		}
		switch line[0] {
		case ':':
			continue // comment / keep-alive (": OPENROUTER PROCESSING")
		case '{', '[':
			if !hasData {
				r.data = append(r.data, line...)
				return sseEvent{Data: r.data, Bare: true}, nil
			}
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				r.data = append(r.data, '\n')
			}
			if len(r.data)+len(value) > r.max {
				return sseEvent{}, errEventTooLarge
			}
			r.data = append(r.data, value...)
			hasData = true
		case "event":
			r.event = string(value)
		}
		// id, retry and unknown fields carry nothing we use.
	}
}

// readLine returns one line without its LF or CRLF. The slice is valid until
// the next call.
func (r *sseReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		r.line = append(r.line[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(r.line) > r.max {
				return nil, errEventTooLarge
			}
			line, err = r.br.ReadSlice('\n')
			r.line = append(r.line, line...)
		}
		line = r.line
	}
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) > 0 {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// sseConn is an open upstream event stream: the response body, the cancel
// that aborts it, and when bytes last arrived (so that keep-alive comments
// count as life for the stall watchdog).
type sseConn struct {
	provider string
	ctx      context.Context
	cancel   context.CancelFunc
	body     io.ReadCloser
	rd       *sseReader
	lastRead atomic.Int64 // UnixNano of the last successful read
	once     sync.Once

	// The reader's side (deliver): done after the first error, which err
	// keeps. Next is not for concurrent use, so no lock.
	done bool
	err  error
}

// activityReader stamps every read that returned bytes.
type activityReader struct {
	r    io.Reader
	last *atomic.Int64
}

func (a activityReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if n > 0 {
		a.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// sseOpen is what a provider tells openSSE about its wire format.
type sseOpen struct {
	provider string
	endpoint string
	header   http.Header
	body     any
	maxBody  int64
	// statusError classifies a non-2xx answer.
	statusError func(*upstream) *Error
	// whole decodes a 200 answer that came back as plain JSON instead of an
	// event stream (an endpoint that ignored stream:true, or an error body).
	whole func([]byte) (*Response, error)
}

// wholeAnswer carries a complete non-streamed answer out of openSSE.
type wholeAnswer struct{ resp *Response }

// openSSE posts the request and returns the open stream, or a classified
// *Error for anything that failed before the first event. A 200 answer in
// plain JSON comes back as a *wholeAnswer instead.
func openSSE(ctx context.Context, client *http.Client, o sseOpen) (*sseConn, *wholeAnswer, error) {
	payload, err := json.Marshal(o.body)
	if err != nil {
		return nil, nil, &Error{Provider: o.provider, Kind: KindMalformed, Message: "could not encode request", Err: err}
	}
	sctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(sctx, http.MethodPost, o.endpoint, bytes.NewReader(payload))
	if err != nil {
		cancel()
		return nil, nil, &Error{Provider: o.provider, Kind: KindNetwork, Message: "invalid provider URL", Err: errors.New("invalid provider URL")}
	}
	if o.header != nil {
		req.Header = o.header
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	// A proxy that compresses would buffer the stream until it has a block.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := client.Do(req)
	if err != nil {
		cancel()
		return nil, nil, transportError(ctx, o.provider, err)
	}

	maxBody := o.maxBody
	if maxBody <= 0 {
		maxBody = DefaultMaxBodyBytes
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode < 200 || resp.StatusCode > 299 || mediaType == "application/json" {
		defer cancel()
		defer resp.Body.Close()
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		if err != nil {
			return nil, nil, transportError(ctx, o.provider, err)
		}
		if int64(len(data)) > maxBody {
			return nil, nil, tooLarge(o.provider, resp.StatusCode)
		}
		up := &upstream{status: resp.StatusCode, header: resp.Header, body: data}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, nil, o.statusError(up)
		}
		r, err := o.whole(data)
		if err != nil {
			return nil, nil, err
		}
		return nil, &wholeAnswer{resp: r}, nil
	}

	c := &sseConn{provider: o.provider, ctx: sctx, cancel: cancel, body: resp.Body}
	c.lastRead.Store(time.Now().UnixNano())
	c.rd = newSSEReader(activityReader{r: resp.Body, last: &c.lastRead}, int(min(maxBody, DefaultMaxEventBytes)))
	return c, nil, nil
}

// openStream is openSSE for a Streamer: a 200 answer in plain JSON is
// replayed as one chunk, and decoder wraps an open event stream in the
// provider's own decoding.
func openStream(ctx context.Context, client *http.Client, o sseOpen, decoder func(*sseConn) Stream) (Stream, error) {
	conn, whole, err := openSSE(ctx, client, o)
	if err != nil {
		return nil, err
	}
	if whole != nil {
		return &replayStream{resp: whole.resp}, nil
	}
	return decoder(conn), nil
}

// deliver is every provider stream's Next around its decoder's next: the
// first error is final and returned again on every later call, and the
// connection is released at once, since the answer is over either way
// (drained back to the pool after a clean end, cut after anything else)
// rather than whenever the caller gets round to Close.
func (c *sseConn) deliver(next func() (Chunk, error)) (Chunk, error) {
	if c.done {
		return Chunk{}, cmp.Or(c.err, io.EOF)
	}
	ch, err := next()
	if err != nil {
		c.done, c.err = true, err
		if errors.Is(err, io.EOF) {
			c.finish()
		} else {
			c.Close()
		}
	}
	return ch, err
}

// event reads the next event, turning read failures into *Error. io.EOF is
// passed through for the provider to judge (terminated or not).
func (c *sseConn) event() (sseEvent, error) {
	ev, err := c.rd.next()
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return ev, err
	case errors.Is(err, errEventTooLarge):
		return ev, &Error{Provider: c.provider, Kind: KindMalformed, Status: http.StatusOK, Message: msgTooLarge, Err: err}
	case c.ctx.Err() != nil:
		return ev, transportError(c.ctx, c.provider, err)
	}
	// A reset or a body cut without its final chunk: the upstream went away.
	return ev, &Error{Provider: c.provider, Kind: KindNetwork, Status: http.StatusOK, Message: msgInterrupted, Err: err}
}

// lastActivity reports when bytes last arrived, for the stall watchdog.
func (c *sseConn) lastActivity() time.Time { return time.Unix(0, c.lastRead.Load()) }

// Draining after a clean end: what follows a terminator is normally just the
// chunked-encoding trailer, already on the wire.
const (
	drainWait  = 50 * time.Millisecond
	drainBytes = 64 << 10
)

// finish ends a cleanly terminated stream. It reads the little that follows
// the terminator so the connection goes back to the pool, and the next
// request skips a TLS handshake; an upstream that lingers after its
// terminator is cut after drainWait.
func (c *sseConn) finish() {
	t := time.AfterFunc(drainWait, c.cancel)
	_, _ = io.Copy(io.Discard, io.LimitReader(c.rd.br, drainBytes))
	t.Stop()
	c.Close()
}

// Close aborts the request first, so that a Read blocked in another goroutine
// returns and Body.Close does not wait for it.
func (c *sseConn) Close() error {
	c.once.Do(func() {
		c.cancel()
		c.body.Close()
	})
	return nil
}

// noTerminator is the error for a stream that ended cleanly at the transport
// level but without the provider's end marker: an answer cut short.
func noTerminator(provider string) *Error {
	return &Error{Provider: provider, Kind: KindMalformed, Status: http.StatusOK, Message: msgNoTerminator,
		Err: io.ErrUnexpectedEOF}
}

func malformedChunk(provider string, err error) *Error {
	return &Error{Provider: provider, Kind: KindMalformed, Status: http.StatusOK, Message: "malformed stream chunk", Err: err}
}

// replayStream plays a complete Response back as one chunk (and then EOF).
type replayStream struct {
	resp *Response
	done atomic.Bool // Close may come from another goroutine
}

func (s *replayStream) Next() (Chunk, error) {
	if s.resp == nil || s.done.Swap(true) {
		return Chunk{}, io.EOF
	}
	u := s.resp.Usage
	ch := Chunk{Text: s.resp.Text, FinishReason: s.resp.FinishReason, Model: s.resp.Model}
	if u.Reported {
		ch.Usage = &u
	}
	return ch, nil
}

func (s *replayStream) Close() error { s.done.Store(true); return nil }
