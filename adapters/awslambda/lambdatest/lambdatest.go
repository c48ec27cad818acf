// Package lambdatest is a fake AWS Lambda Runtime API for driving a compiled
// bootstrap end to end, as the Lambda service would: it hands out events on
// /next and collects buffered, streamed and error answers.
package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StreamContentType marks a streamed answer (Function URL RESPONSE_STREAM).
const StreamContentType = "application/vnd.awslambda.http-integration-response"

const prefix = "/2018-06-01/runtime/invocation/"

// Chunk is one read of a streamed body as it arrived.
type Chunk struct {
	Data []byte
	At   time.Time
}

// Result is what the bootstrap posted for one invocation.
type Result struct {
	ID          string
	Error       bool   // posted to /error
	ContentType string // of the /response post
	Body        []byte // buffered answer or error JSON; for a stream, the body after the prelude
	Prelude     []byte // streamed answers: the JSON before the 8 NULs
	Chunks      []Chunk
	Trailer     http.Header
}

// Runtime is the fake. Its zero value is unusable; use New.
type Runtime struct {
	srv     *httptest.Server
	events  chan invocation
	closed  chan struct{}
	once    sync.Once
	seq     atomic.Int64
	ready   chan time.Time
	readyMu sync.Once

	mu      sync.Mutex
	waiting map[string]chan Result
	// OnChunk, if set, sees each streamed body read as it arrives (before
	// the invocation completes), so a test can pace the handler.
	OnChunk func(id string, data []byte)
}

type invocation struct {
	id       string
	event    []byte
	deadline time.Time
}

// New starts a fake Runtime API on 127.0.0.1.
func New() *Runtime {
	rt := &Runtime{
		events:  make(chan invocation),
		closed:  make(chan struct{}),
		ready:   make(chan time.Time, 1),
		waiting: map[string]chan Result{},
	}
	rt.srv = httptest.NewServer(http.HandlerFunc(rt.serve))
	return rt
}

// Addr is the value for AWS_LAMBDA_RUNTIME_API.
func (rt *Runtime) Addr() string { return strings.TrimPrefix(rt.srv.URL, "http://") }

// Ready delivers the time of the first /next: the bootstrap finished its
// init (config, secrets) and is waiting for work.
func (rt *Runtime) Ready() <-chan time.Time { return rt.ready }

// Close makes every /next fail, which ends an aws-lambda-go bootstrap, and
// stops the server.
func (rt *Runtime) Close() {
	rt.once.Do(func() { close(rt.closed) })
	rt.srv.CloseClientConnections()
	rt.srv.Close()
}

// Invoke queues one event with the given time budget and waits for the
// bootstrap's answer.
func (rt *Runtime) Invoke(ctx context.Context, event []byte, budget time.Duration) (Result, error) {
	id := fmt.Sprintf("req-%04d", rt.seq.Add(1))
	done := make(chan Result, 1)
	rt.mu.Lock()
	rt.waiting[id] = done
	rt.mu.Unlock()
	select {
	case rt.events <- invocation{id: id, event: event, deadline: time.Now().Add(budget)}:
	case <-ctx.Done():
		return Result{}, fmt.Errorf("bootstrap never asked for the event: %w", ctx.Err())
	}
	select {
	case r := <-done:
		return r, nil
	case <-ctx.Done():
		return Result{}, fmt.Errorf("no answer for %s: %w", id, ctx.Err())
	}
}

func (rt *Runtime) finish(r Result) {
	rt.mu.Lock()
	ch := rt.waiting[r.ID]
	delete(rt.waiting, r.ID)
	rt.mu.Unlock()
	if ch != nil {
		ch <- r
	}
}

func (rt *Runtime) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		http.Error(w, "unknown path", http.StatusNotFound)
		return
	}
	if rest == "next" && r.Method == http.MethodGet {
		rt.readyMu.Do(func() { rt.ready <- time.Now() })
		select {
		case inv := <-rt.events:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:gateway")
			w.Header().Set("Lambda-Runtime-Trace-Id", "Root=1-5e1b4151-5ac6c58f3375aa3c7c6b73c9;Parent=1;Sampled=0")
			w.Header().Set("Content-Type", "application/json")
			w.Write(inv.event) //nolint:errcheck
		case <-rt.closed:
			http.Error(w, "shutting down", http.StatusInternalServerError)
		case <-r.Context().Done():
		}
		return
	}
	id, verb, ok := strings.Cut(rest, "/")
	if !ok || r.Method != http.MethodPost || (verb != "response" && verb != "error") {
		http.Error(w, "unknown path", http.StatusNotFound)
		return
	}
	res := Result{ID: id, Error: verb == "error", ContentType: r.Header.Get("Content-Type")}
	var err error
	if res.ContentType == StreamContentType {
		err = rt.readStream(r.Body, &res)
	} else {
		res.Body, err = io.ReadAll(r.Body)
	}
	res.Trailer = r.Trailer
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The real Runtime API answers 202; anything else is fatal to the runtime.
	w.WriteHeader(http.StatusAccepted)
	rt.finish(res)
}

var sep = make([]byte, 8)

func (rt *Runtime) readStream(body io.Reader, res *Result) error {
	var head []byte
	buf := make([]byte, 32*1024)
	for {
		n, err := body.Read(buf)
		data := append([]byte(nil), buf[:n]...)
		if n > 0 && res.Prelude == nil {
			head = append(head, data...)
			data = nil
			if p, after, found := bytes.Cut(head, sep); found {
				res.Prelude, data = p, after
			}
		}
		if len(data) > 0 {
			res.Chunks = append(res.Chunks, Chunk{Data: data, At: time.Now()})
			res.Body = append(res.Body, data...)
			if rt.OnChunk != nil {
				rt.OnChunk(res.ID, data)
			}
		}
		if errors.Is(err, io.EOF) {
			if res.Prelude == nil {
				return errors.New("stream ended before the prelude separator")
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Prelude is the decoded head of a streamed answer.
type Prelude struct {
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Cookies    []string          `json:"cookies"`
}

// DecodePrelude parses a streamed answer's prelude.
func (r Result) DecodePrelude() (Prelude, error) {
	var p Prelude
	err := json.Unmarshal(r.Prelude, &p)
	return p, err
}
