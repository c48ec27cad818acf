// Command loadbench is the gateway's load benchmark (SPEC.md "Budgets"):
// a mock upstream that answers at once, and side by side in one run the
// client talking to it directly, through a bare Go forwarder, and through
// the real gateway, each server in its own process so that its CPU and RSS
// are its own.
//
//	go run ./cmd/loadbench            # full run, about two minutes
//	go run ./cmd/loadbench -quick     # smaller counts, a smoke test
//	go run ./cmd/loadbench -cpuprofile /tmp/gw.pprof   # profile the gateway
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/llm-secure-gateway/gateway/internal/loadtest"
	"github.com/llm-secure-gateway/gateway/providers"
)

func main() {
	serve := flag.String("serve", "", "internal: run a server (gateway|forwarder) for the parent process")
	quick := flag.Bool("quick", false, "small counts: a smoke test, not a measurement")
	rate := flag.Float64("rate", 1000, "requests per second of the fixed-rate run")
	rateSecs := flag.Float64("rate-seconds", 10, "length of each fixed-rate run")
	satN := flag.Int("sat-n", 20000, "requests of each saturation run")
	conc := flag.Int("c", 16, "client connections in the saturation run")
	rssN := flag.Int("rss-n", 100000, "requests through the gateway before RSS is read")
	cpuprofile := flag.String("cpuprofile", "", "write the gateway process's CPU profile (saturation run) here")
	flag.Parse()
	if *serve != "" {
		if err := runServer(*serve); err != nil {
			fmt.Fprintln(os.Stderr, "loadbench server:", err)
			os.Exit(1)
		}
		return
	}
	if *quick {
		*rateSecs, *satN, *rssN = 2, 3000, 10000
	}
	if err := bench(*rate, *rateSecs, *satN, *conc, *rssN, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// child is a server process started by the parent.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	url   string
}

func startChild(kind string, env map[string]string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", kind)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return nil, fmt.Errorf("%s did not start: %w", kind, err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "LISTEN ")
	if !ok {
		cmd.Process.Kill()
		return nil, fmt.Errorf("%s said %q", kind, line)
	}
	return &child{cmd: cmd, stdin: stdin, url: "http://" + addr}, nil
}

func (c *child) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// cpu is the child's user+system CPU time so far.
func (c *child) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields overall, in clock ticks (100 per second on Linux).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// rss is the child's resident set size and its peak, in bytes.
func (c *child) rss() (cur, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return cur, peak
}

func bench(rate, rateSecs float64, satN, conc, rssN int, cpuprofile string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	mock := loadtest.NewUpstream(nil)
	defer mock.Close()

	// The gateway calls Groq's wire format only, as the direct run does, so
	// the difference is the gateway alone.
	gwEnv := loadtest.GatewayEnv(mock.URL, mock.URL, mock.URL, map[string]string{"PROVIDER_ORDER": "groq"})
	if cpuprofile != "" {
		gwEnv["LOADBENCH_CPUPROFILE"] = cpuprofile
	}
	gw, err := startChild("gateway", gwEnv)
	if err != nil {
		return err
	}
	defer gw.stop()
	fwd, err := startChild("forwarder", map[string]string{"LOADBENCH_UPSTREAM": mock.URL + "/openai/v1/chat/completions"})
	if err != nil {
		return err
	}
	defer fwd.stop()

	directHdr := http.Header{"Authorization": {"Bearer gsk_direct"}, "Content-Type": {"application/json"}}
	direct := loadtest.Target{Method: "POST", URL: mock.URL + "/openai/v1/chat/completions", Header: directHdr, Body: openAIBody(false), Check: okCheck}
	forwarder := loadtest.Target{Method: "POST", URL: fwd.url + "/v1/chat/completions", Header: loadtest.AuthHeader(), Body: loadtest.ChatBody, Check: okCheck}
	gateway := loadtest.Target{Method: "POST", URL: gw.url + "/v1/chat/completions", Header: loadtest.AuthHeader(), Body: loadtest.ChatBody, Check: loadtest.CheckChat}
	gatewayQuery := loadtest.Target{Method: "POST", URL: gw.url + "/query", Header: loadtest.AuthHeader(), Body: loadtest.QueryBody, Check: loadtest.CheckQuery}

	fmt.Printf("loadbench: %s, GOMAXPROCS %d, %d CPUs; request body %d B (chat), %d B (/query)\n",
		runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), len(loadtest.ChatBody), len(loadtest.QueryBody))
	fmt.Println("every server (mock, forwarder, gateway) on loopback; the gateway with all local guards on, safety check off")

	// Warm up connection pools and the gateway's lazy state.
	for _, t := range []loadtest.Target{direct, forwarder, gateway, gatewayQuery} {
		if err := mustRun(ctx, loadtest.RunConfig{Targets: []loadtest.Target{t}, Requests: 2000, Concurrency: 8}); err != nil {
			return fmt.Errorf("warm-up %s: %w", t.URL, err)
		}
	}
	served := 4000 // gateway requests so far

	// 1. Added latency at a fixed rate.
	n := int(rate * rateSecs)
	fmt.Printf("\n== fixed rate: %.0f req/s for %.0fs (%d requests each), latency to the last byte\n", rate, rateSecs, n)
	fmt.Printf("%-28s %9s %9s %9s %9s %7s\n", "run", "p50", "p90", "p99", "max", "errors")
	var directLat []time.Duration
	for _, r := range []struct {
		name string
		t    loadtest.Target
	}{{"direct (client → mock)", direct}, {"bare forwarder", forwarder}, {"gateway /v1/chat/completions", gateway}, {"gateway /query", gatewayQuery}} {
		rep := loadtest.Run(ctx, loadtest.RunConfig{Targets: []loadtest.Target{r.t}, Requests: n, Concurrency: 64, Rate: rate})
		lat := rep.Latencies(false)
		fmt.Printf("%-28s %9s %9s %9s %9s %7d", r.name, us(loadtest.Quantile(lat, .5)), us(loadtest.Quantile(lat, .9)),
			us(loadtest.Quantile(lat, .99)), us(loadtest.Quantile(lat, 1)), len(rep.Failures()))
		if directLat == nil {
			directLat = lat
			fmt.Println()
		} else {
			fmt.Printf("   added p50 %s p99 %s\n", us(loadtest.Quantile(lat, .5)-loadtest.Quantile(directLat, .5)),
				us(loadtest.Quantile(lat, .99)-loadtest.Quantile(directLat, .99)))
		}
		printFailures(rep)
		if strings.HasPrefix(r.name, "gateway") {
			served += n
		}
	}

	// 2. Saturation: throughput and CPU per request of the server process.
	fmt.Printf("\n== saturation: %d requests each over %d connections\n", satN, conc)
	fmt.Printf("%-28s %10s %9s %9s %14s\n", "run", "req/s", "p50", "p99", "server CPU/req")
	var fwdRPS float64
	for _, r := range []struct {
		name string
		t    loadtest.Target
		srv  *child
	}{{"direct (client → mock)", direct, nil}, {"bare forwarder", forwarder, fwd}, {"gateway /v1/chat/completions", gateway, gw}, {"gateway /query", gatewayQuery, gw}} {
		var before time.Duration
		if r.srv != nil {
			before = r.srv.cpu()
		}
		rep := loadtest.Run(ctx, loadtest.RunConfig{Targets: []loadtest.Target{r.t}, Requests: satN, Concurrency: conc})
		rps := float64(satN) / rep.Elapsed.Seconds()
		lat := rep.Latencies(false)
		cpu := "-"
		if r.srv != nil {
			cpu = us((r.srv.cpu() - before) / time.Duration(satN))
		}
		fmt.Printf("%-28s %10.0f %9s %9s %14s", r.name, rps, us(loadtest.Quantile(lat, .5)), us(loadtest.Quantile(lat, .99)), cpu)
		switch {
		case r.srv == fwd:
			fwdRPS = rps
			fmt.Println()
		case r.srv == gw:
			fmt.Printf("   %.0f%% of the forwarder\n", 100*rps/fwdRPS)
			served += satN
		default:
			fmt.Println()
		}
		printFailures(rep)
	}

	// 3. Memory after many requests: RSS must not grow with the count.
	cur, _ := gw.rss()
	fmt.Printf("\n== memory: gateway RSS %.1f MiB after %d requests\n", mib(cur), served)
	for served < rssN {
		batch := min(rssN-served, 25000)
		if err := mustRun(ctx, loadtest.RunConfig{Targets: []loadtest.Target{gateway, gatewayQuery}, Requests: batch, Concurrency: conc}); err != nil {
			return err
		}
		served += batch
		cur, peak := gw.rss()
		fmt.Printf("   RSS %.1f MiB (peak %.1f MiB) after %d requests\n", mib(cur), mib(peak), served)
	}

	// 4. Streaming: time to first byte.
	fmt.Printf("\n== streaming: time to first byte, %d requests each at %.0f req/s\n", n/4, rate/4)
	streamDirect := loadtest.Target{Method: "POST", URL: direct.URL, Header: directHdr, Body: openAIBody(true), Check: sseCheck}
	streamGW := loadtest.Target{Method: "POST", URL: gateway.URL, Header: loadtest.AuthHeader(), Body: loadtest.ChatStreamBody, Check: sseCheck}
	var directTTFB []time.Duration
	for _, r := range []struct {
		name string
		t    loadtest.Target
	}{{"direct (client → mock)", streamDirect}, {"gateway stream", streamGW}} {
		rep := loadtest.Run(ctx, loadtest.RunConfig{Targets: []loadtest.Target{r.t}, Requests: n / 4, Concurrency: 32, Rate: rate / 4})
		ttfb := rep.Latencies(true)
		fmt.Printf("%-28s TTFB p50 %s p99 %s, errors %d", r.name, us(loadtest.Quantile(ttfb, .5)), us(loadtest.Quantile(ttfb, .99)), len(rep.Failures()))
		if directTTFB == nil {
			directTTFB = ttfb
			fmt.Println()
		} else {
			fmt.Printf("   added p50 %s p99 %s\n", us(loadtest.Quantile(ttfb, .5)-loadtest.Quantile(directTTFB, .5)),
				us(loadtest.Quantile(ttfb, .99)-loadtest.Quantile(directTTFB, .99)))
		}
		printFailures(rep)
	}
	if calls := mock.Calls(); calls > 0 {
		fmt.Printf("\nmock upstream answered %d calls\n", calls)
	}
	return nil
}

func mustRun(ctx context.Context, cfg loadtest.RunConfig) error {
	rep := loadtest.Run(ctx, cfg)
	if f := rep.Failures(); len(f) > 0 {
		return fmt.Errorf("%d of %d requests failed, first: %v", len(f), cfg.Requests, f[0].Err)
	}
	return nil
}

func printFailures(rep *loadtest.Report) {
	f := rep.Failures()
	if len(f) > 0 {
		fmt.Printf("   !! %d failed, first: status %d: %v\n", len(f), f[0].Status, f[0].Err)
	}
}

func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }
func mib(b int64) float64       { return float64(b) / (1 << 20) }

func openAIBody(stream bool) []byte {
	b, _ := json.Marshal(map[string]any{"model": providers.DefaultGroqModel, "max_tokens": 64, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": loadtest.Prompt}}})
	return b
}

func okCheck(status int, _ http.Header, body []byte) error {
	if status != http.StatusOK || !bytes.Contains(body, []byte(loadtest.Answer)) {
		return fmt.Errorf("status %d: %.200s", status, body)
	}
	return nil
}

// sseCheck accepts a server-sent event stream that carries the answer.
func sseCheck(status int, h http.Header, body []byte) error {
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") {
		return fmt.Errorf("not a stream: status %d %s: %.200s", status, h.Get("Content-Type"), body)
	}
	return nil
}

// runServer is the child side: serve on a loopback port, say where, and stop
// when the parent closes stdin.
func runServer(kind string) error {
	var h http.Handler
	switch kind {
	case "gateway":
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		gw, err := loadtest.NewGateway(context.Background(), env, io.Discard)
		if err != nil {
			return err
		}
		h = gw
	case "forwarder":
		h = newForwarder(os.Getenv("LOADBENCH_UPSTREAM"))
	default:
		return errors.New("unknown server " + kind)
	}
	if p := os.Getenv("LOADBENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("LISTEN %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// forwarder is SPEC.md's reference point, "a bare Go forwarder": auth,
// bounded read, decode, forward, nothing else.
type forwarder struct {
	upstream string
	client   *http.Client
}

func newForwarder(upstream string) *forwarder {
	return &forwarder{upstream: upstream, client: providers.NewHTTPClient()}
}

func (f *forwarder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Api-Key")), []byte(loadtest.ServiceKey)) != 1 {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, `{"error":"too large"}`, http.StatusRequestEntityTooLarge)
		return
	}
	var in struct {
		Messages  []map[string]string `json:"messages"`
		MaxTokens int                 `json:"max_tokens"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusUnprocessableEntity)
		return
	}
	out, _ := json.Marshal(map[string]any{"model": providers.DefaultGroqModel, "messages": in.Messages, "max_tokens": in.MaxTokens})
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, f.upstream, bytes.NewReader(out))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer gsk_forwarder")
	resp, err := f.client.Do(req)
	if err != nil {
		http.Error(w, `{"error":"upstream"}`, http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		http.Error(w, `{"error":"upstream"}`, http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(resp.StatusCode)
	w.Write(data)
}
