package loadtest

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// The default run is sized for CI (`go test -race ./...` on 2 cores); -short
// shrinks it, and the flags grow it:
//
//	go test ./internal/loadtest -run Fault -v -loadtest.n=20000 -loadtest.c=512
var (
	flagN = flag.Int("loadtest.n", 0, "requests in TestFaultInjection (default 3000, 600 with -short)")
	flagC = flag.Int("loadtest.c", 0, "concurrency in TestFaultInjection (default 128, 48 with -short)")
)

const (
	faultProviderTimeout = 300 * time.Millisecond
	faultRequestTimeout  = 800 * time.Millisecond
	// handlerSlack is how long past REQUEST_TIMEOUT the handler may take
	// before the request counts as hung: the core starts REQUEST_TIMEOUT
	// only after parsing, auth and the guard, which queue for CPU on a
	// saturated 2-core machine. A real hang (an upstream call left to its
	// 20s or 30s) is far beyond it.
	handlerSlack = 400 * time.Millisecond
	// clientTimeout is when the client gives up: no answer by then is a
	// lost request. Past REQUEST_TIMEOUT it leaves room for requests queued
	// on a saturated 2-core machine before the handler even starts.
	clientTimeout = faultRequestTimeout + 10*time.Second
)

// timed wraps the gateway to measure each request from the moment the
// handler starts, which is when REQUEST_TIMEOUT starts too.
type timed struct {
	h       http.Handler
	mu      sync.Mutex
	handler []time.Duration
}

func (t *timed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.h.ServeHTTP(w, r)
	d := time.Since(start)
	t.mu.Lock()
	t.handler = append(t.handler, d)
	t.mu.Unlock()
}

// TestFaultInjection sends thousands of requests at high concurrency
// through the real gateway handler, over real HTTP, to three mock
// providers that fail half the time in every way we know. Every request
// must get a correct answer or a documented error body, in time; afterwards
// no goroutine may be left and the heap must be back near where it was.
func TestFaultInjection(t *testing.T) {
	n, c := 3000, 128
	if testing.Short() {
		n, c = 600, 48
	}
	if raceEnabled {
		c = 32
	}
	if *flagN > 0 {
		n = *flagN
	}
	if *flagC > 0 {
		c = *flagC
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	ups := []*Upstream{NewUpstream(FaultMix), NewUpstream(FaultMix), NewUpstream(FaultMix)}
	env := GatewayEnv(ups[0].URL, ups[1].URL, ups[2].URL, map[string]string{
		"PROVIDER_TIMEOUT": faultProviderTimeout.String(),
		"REQUEST_TIMEOUT":  faultRequestTimeout.String(),
		// Taken up once the core reads them (see docs/benchmarks.md).
		"RETRY_MAX": "1", "RETRY_BACKOFF": "20ms", "COOLDOWN_AFTER": "5", "COOLDOWN_BASE": "200ms",
	})
	gw, err := NewGateway(t.Context(), env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	th := &timed{h: gw}
	srv := httptest.NewServer(th)
	client := NewClient(c)

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc
	var peakHeap atomic.Uint64
	stopSampling := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peakHeap.Load() {
					peakHeap.Store(m.HeapInuse)
				}
			}
		}
	})
	goroutinesBefore := runtime.NumGoroutine()

	rep := Run(t.Context(), RunConfig{
		Targets: []Target{
			{Method: "POST", URL: srv.URL + "/query", Header: AuthHeader(), Body: QueryBody, Check: CheckQuery},
			{Method: "POST", URL: srv.URL + "/v1/chat/completions", Header: AuthHeader(), Body: ChatBody, Check: CheckChat},
		},
		Requests: n, Concurrency: c, Client: client,
		Timeout:     clientTimeout,
		CancelEvery: 17, CancelAfter: 10 * time.Millisecond,
	})
	close(stopSampling)
	sampler.Wait()
	peakGoroutines := runtime.NumGoroutine()

	// Every upstream call ends once its client has its answer: a hung
	// provider is canceled, not left holding a connection and a goroutine.
	var stillActive int64
	for wait := time.Now(); time.Since(wait) < 2*time.Second; time.Sleep(10 * time.Millisecond) {
		stillActive = 0
		for _, u := range ups {
			stillActive += u.Active()
		}
		if stillActive == 0 {
			break
		}
	}
	if stillActive > 0 {
		t.Errorf("%d upstream calls still running 2s after the last answer", stillActive)
	}

	client.CloseIdleConnections()
	srv.Close()
	for _, u := range ups {
		u.Close()
	}

	// Every request answered, as documented, in time.
	statuses := rep.Statuses()
	var canceled int
	byKind := map[string]int{}
	var examples []string
	for _, r := range rep.Results {
		switch {
		case r.Canceled:
			canceled++
		case r.Err != nil:
			kind := "lost (no answer)"
			switch {
			case errors.Is(r.Err, ErrUndocumented):
				kind = "undocumented status"
			case errors.Is(r.Err, ErrWrongBody):
				kind = "wrong body"
			}
			byKind[kind]++
			if len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("%s after %v: %v", kind, r.Latency.Round(time.Millisecond), r.Err))
			}
		}
	}
	th.mu.Lock()
	handler := slices.Clone(th.handler)
	th.mu.Unlock()
	slices.Sort(handler)
	for _, d := range handler {
		if d > faultRequestTimeout+handlerSlack {
			byKind["hang past the deadline"]++
		}
	}
	lat := rep.Latencies(false)
	faults := map[Fault]int64{}
	var upCalls int64
	for _, u := range ups {
		upCalls += u.Calls()
		for f, k := range u.Counts() {
			faults[f] += k
		}
	}
	t.Logf("%d requests at concurrency %d in %v (%.0f req/s): statuses %v, client hang-ups %d",
		n, c, rep.Elapsed.Round(time.Millisecond), float64(n)/rep.Elapsed.Seconds(), sortedMap(statuses), canceled)
	t.Logf("client latency p50 %v p99 %v max %v; in the handler p50 %v p99 %v max %v (REQUEST_TIMEOUT %v)",
		Quantile(lat, 0.5), Quantile(lat, 0.99), Quantile(lat, 1),
		Quantile(handler, 0.5), Quantile(handler, 0.99), Quantile(handler, 1), faultRequestTimeout)
	t.Logf("upstream calls %d, faults served %v", upCalls, sortedMap(faults))
	t.Logf("goroutines %d before, %d at the end of the run; heap %.1f MiB before, peak in-use %.1f MiB",
		goroutinesBefore, peakGoroutines, mib(heapBefore), mib(peakHeap.Load()))
	for _, e := range examples {
		t.Error(e)
	}
	if len(byKind) > 0 {
		t.Errorf("failures: %v", byKind)
	}
	if statuses[http.StatusOK] < n/4 {
		t.Errorf("only %d of %d requests got an answer: the cascade is not falling over", statuses[http.StatusOK], n)
	}
	if canceled == 0 {
		t.Error("no client hang-up happened: the disconnect path went untested")
	}

	// Memory: back near the start once the garbage is collected.
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("heap after GC %.1f MiB", mib(ms.HeapAlloc))
	if ms.HeapAlloc > heapBefore+64<<20 {
		t.Errorf("heap grew from %.1f to %.1f MiB", mib(heapBefore), mib(ms.HeapAlloc))
	}
	if peakHeap.Load() > 512<<20 {
		t.Errorf("peak heap %.1f MiB: something holds whole upstream bodies", mib(peakHeap.Load()))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func sortedMap[K comparable, V any](m map[K]V) string {
	keys := make([]string, 0, len(m))
	vals := map[string]V{}
	for k, v := range m {
		s := fmt.Sprint(k)
		keys = append(keys, s)
		vals[s] = v
	}
	sort.Strings(keys)
	out := "{"
	for i, k := range keys {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprintf("%s:%v", k, vals[k])
	}
	return out + "}"
}
