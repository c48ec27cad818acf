package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Prompt is a ~1 KB benign prompt: it passes every local guard, so the
// benchmark measures the whole pipeline, not an early 422.
var Prompt = strings.Repeat("Please describe, in plain words, how a heron finds fish in a shallow river at dawn and why the light matters. ", 10)[:1000]

// QueryBody and ChatBody are the ~1 KB requests the harness sends.
var (
	QueryBody = mustJSON(map[string]any{"prompt": Prompt, "max_tokens": 64, "temperature": 0.2})
	ChatBody  = mustJSON(map[string]any{"model": "auto", "max_tokens": 64, "messages": []any{
		map[string]any{"role": "user", "content": Prompt}}})
	ChatStreamBody = mustJSON(map[string]any{"model": "auto", "max_tokens": 64, "stream": true, "messages": []any{
		map[string]any{"role": "user", "content": Prompt}}})
)

// Target is one kind of request the runner sends.
type Target struct {
	Method, URL string
	Header      http.Header
	Body        []byte
	// Check judges an answer; a non-nil error counts as a failure.
	Check func(status int, header http.Header, body []byte) error
}

// Result is one request's outcome.
type Result struct {
	Target   int
	Status   int
	Latency  time.Duration // to the whole body
	TTFB     time.Duration // to the first body byte
	Err      error         // transport error or failed check
	Canceled bool          // the runner gave up on purpose (client disconnect)
}

// RunConfig drives one run.
type RunConfig struct {
	Targets     []Target
	Requests    int
	Concurrency int
	// Rate, when positive, sends at that many requests per second (open
	// loop); otherwise Concurrency workers send back to back (saturation).
	Rate float64
	// Timeout bounds each request: a request still running then is a hang.
	Timeout time.Duration
	// CancelEvery, when positive, makes every n-th request hang up after
	// CancelAfter, as a client going away would.
	CancelEvery int
	CancelAfter time.Duration
	Client      *http.Client
}

// Report is a run's figures.
type Report struct {
	Results []Result
	Elapsed time.Duration
}

// NewClient returns a client that keeps a connection per worker.
func NewClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}}
}

// Run sends the requests, cycling through the targets.
func Run(ctx context.Context, cfg RunConfig) *Report {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	client := cfg.Client
	if client == nil {
		client = NewClient(cfg.Concurrency)
	}
	results := make([]Result, cfg.Requests)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for i := range jobs {
				results[i] = do(ctx, client, cfg, i)
			}
		})
	}
	start := time.Now()
	for i := range cfg.Requests {
		if cfg.Rate > 0 {
			if d := time.Until(start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))); d > 0 {
				time.Sleep(d)
			}
		}
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
	}
	close(jobs)
	wg.Wait()
	return &Report{Results: results, Elapsed: time.Since(start)}
}

func do(ctx context.Context, client *http.Client, cfg RunConfig, i int) Result {
	ti := i % len(cfg.Targets)
	t := cfg.Targets[ti]
	res := Result{Target: ti}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	hangUp := cfg.CancelEvery > 0 && i%cfg.CancelEvery == cfg.CancelEvery-1
	if hangUp {
		var stop context.CancelFunc
		ctx, stop = context.WithCancel(ctx)
		defer time.AfterFunc(cfg.CancelAfter, stop).Stop()
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, t.URL, bytes.NewReader(t.Body))
	if err != nil {
		res.Err = err
		return res
	}
	for k, v := range t.Header {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res.Latency = time.Since(start)
		res.Err, res.Canceled = err, hangUp && ctx.Err() == context.Canceled
		return res
	}
	var buf bytes.Buffer
	first := make([]byte, 1)
	n, rerr := io.ReadFull(resp.Body, first)
	res.TTFB = time.Since(start)
	buf.Write(first[:n])
	if rerr == nil {
		_, rerr = buf.ReadFrom(resp.Body)
	} else if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
		rerr = nil
	}
	resp.Body.Close()
	res.Latency = time.Since(start)
	res.Status = resp.StatusCode
	switch {
	case rerr != nil:
		res.Err, res.Canceled = fmt.Errorf("reading body: %w", rerr), hangUp && ctx.Err() == context.Canceled
	case t.Check != nil:
		res.Err = t.Check(resp.StatusCode, resp.Header, buf.Bytes())
	}
	return res
}

// Latencies returns the sorted latencies of the requests that succeeded
// (Err nil), by the given measure.
func (r *Report) Latencies(ttfb bool) []time.Duration {
	var out []time.Duration
	for _, x := range r.Results {
		if x.Err == nil && !x.Canceled {
			if ttfb {
				out = append(out, x.TTFB)
			} else {
				out = append(out, x.Latency)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Quantile of sorted durations (nearest rank).
func Quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Statuses counts answers by HTTP status (0: no answer).
func (r *Report) Statuses() map[int]int {
	m := map[int]int{}
	for _, x := range r.Results {
		m[x.Status]++
	}
	return m
}

// Failures returns the results with an error that was not a deliberate hang-up.
func (r *Report) Failures() []Result {
	var out []Result
	for _, x := range r.Results {
		if x.Err != nil && !x.Canceled {
			out = append(out, x)
		}
	}
	return out
}
