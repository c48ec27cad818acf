package awslambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-secure-gateway/gateway/adapters/awslambda/lambdatest"
)

// testBootstrap is the adapter around a small handler, compiled as Lambda
// builds it; built once in TestMain.
var testBootstrap string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "awslambda-e2e")
	if err != nil {
		panic(err)
	}
	testBootstrap = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", testBootstrap, "./testdata/bootstrap")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build test bootstrap: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startBootstrap runs bin against a fresh fake Runtime API.
func startBootstrap(t *testing.T, bin string, env ...string) (*lambdatest.Runtime, *bytes.Buffer) {
	t.Helper()
	rt := lambdatest.New()
	var logs bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"AWS_LAMBDA_RUNTIME_API=" + rt.Addr(), "PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		rt.Close() // /next fails and the runtime exits
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("bootstrap did not exit after the Runtime API closed; logs:\n%s", logs.String())
		}
	})
	return rt, &logs
}

func invoke(t *testing.T, rt *lambdatest.Runtime, event []byte) lambdatest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := rt.Invoke(ctx, event, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func withPath(t *testing.T, file, path string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(event(t, file), &ev); err != nil {
		t.Fatal(err)
	}
	if _, ok := ev["rawPath"]; ok {
		ev["rawPath"] = path
	} else {
		ev["path"] = path
	}
	b, _ := json.Marshal(ev)
	return b
}

func TestBootstrapEveryEvent(t *testing.T) {
	for _, mode := range []string{"BUFFERED", InvokeModeStream} {
		t.Run(mode, func(t *testing.T) {
			rt, logs := startBootstrap(t, testBootstrap, "LAMBDA_INVOKE_MODE="+mode)
			for _, file := range []string{"function-url.json", "http-api.json", "rest-api.json", "alb.json", "alb-single.json"} {
				res := invoke(t, rt, event(t, file))
				if res.Error {
					t.Fatalf("%s: error %s; logs:\n%s", file, res.Body, logs)
				}
				streamed := res.ContentType == lambdatest.StreamContentType
				if want := mode == InvokeModeStream && file == "function-url.json"; streamed != want {
					t.Fatalf("%s: streamed = %v, want %v", file, streamed, want)
				}
				body := res.Body
				if streamed {
					p, err := res.DecodePrelude()
					if err != nil || p.StatusCode != 200 || len(p.Cookies) != 2 {
						t.Fatalf("%s: prelude %s (%v)", file, res.Prelude, err)
					}
				} else {
					var out struct {
						StatusCode int
						Body       string
					}
					if err := json.Unmarshal(res.Body, &out); err != nil || out.StatusCode != 200 {
						t.Fatalf("%s: answer %s (%v)", file, res.Body, err)
					}
					body = []byte(out.Body)
				}
				var saw map[string]any
				if err := json.Unmarshal(body, &saw); err != nil {
					t.Fatalf("%s: body %q: %v", file, body, err)
				}
				if saw["path"] != "/v1/chat/completions" || saw["remote"] != "203.0.113.9" || saw["xff"] != "198.51.100.7" ||
					saw["body"] != `{"model":"auto"}` || saw["deadline"] != true || !strings.HasPrefix(saw["request_id"].(string), "req-") ||
					saw["request_id"] != res.ID {
					t.Fatalf("%s: handler saw %v (invocation %s)", file, saw, res.ID)
				}
			}
			res := invoke(t, rt, []byte(`{"source":"aws.events","detail-type":"Scheduled Event"}`))
			if !res.Error || !strings.Contains(string(res.Body), "unsupported Lambda event") {
				t.Fatalf("scheduled event: error=%v body %s", res.Error, res.Body)
			}
		})
	}
}

func TestBootstrapStreamsInChunks(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]chan struct{}{1: make(chan struct{}), 2: make(chan struct{})}
	gate := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/%d", &n)
		select {
		case <-seen[n]:
		case <-time.After(5 * time.Second):
			http.Error(w, "previous chunk never arrived", http.StatusGatewayTimeout)
		}
	}))
	defer gate.Close()
	rt, _ := startBootstrap(t, testBootstrap, "LAMBDA_INVOKE_MODE="+InvokeModeStream, "GATE_URL="+gate.URL)
	var got bytes.Buffer
	rt.OnChunk = func(_ string, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		got.Write(data)
		for n, ch := range seen {
			if strings.Contains(got.String(), fmt.Sprintf("data: %d\n\n", n-1)) {
				select {
				case <-ch:
				default:
					close(ch)
				}
			}
		}
	}
	res := invoke(t, rt, withPath(t, "function-url.json", "/stream"))
	p, err := res.DecodePrelude()
	if err != nil || p.StatusCode != 200 || p.Headers["Content-Type"] != "text/event-stream" {
		t.Fatalf("prelude %s (%v)", res.Prelude, err)
	}
	if string(res.Body) != "data: 0\n\ndata: 1\n\ndata: 2\n\n" || len(res.Chunks) < 3 {
		t.Fatalf("body %q in %d chunks", res.Body, len(res.Chunks))
	}
	t.Logf("%d chunks, first to last %v", len(res.Chunks), res.Chunks[len(res.Chunks)-1].At.Sub(res.Chunks[0].At))
}

// A panic under lambdaurl would kill the process; the adapter's recover
// keeps it serving.
func TestBootstrapSurvivesPanic(t *testing.T) {
	rt, logs := startBootstrap(t, testBootstrap, "LAMBDA_INVOKE_MODE="+InvokeModeStream)
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/panic", 500, `"internal error"`},
		{"/panic?after=1", 200, "data: partial"},
		{"/ok", 200, `"path":"/ok"`},
	}
	for _, tt := range tests {
		ev := withPath(t, "function-url.json", strings.Split(tt.path, "?")[0])
		if _, q, ok := strings.Cut(tt.path, "?"); ok {
			ev = bytes.Replace(ev, []byte(`"rawQueryString":"a=1\u0026b=x%20y"`), []byte(`"rawQueryString":"`+q+`"`), 1)
		}
		res := invoke(t, rt, ev)
		p, err := res.DecodePrelude()
		if err != nil || p.StatusCode != tt.status || !strings.Contains(string(res.Body), tt.body) || strings.Contains(string(res.Body), "handler bug") {
			t.Fatalf("%s: prelude %s body %q (%v); logs:\n%s", tt.path, res.Prelude, res.Body, err, logs)
		}
	}
	// Buffered triggers too.
	res := invoke(t, rt, withPath(t, "rest-api.json", "/panic"))
	if !bytes.Contains(res.Body, []byte(`"statusCode":500`)) {
		t.Fatalf("REST panic answer %s", res.Body)
	}
}

// BenchmarkColdStartAdapterOnly is the floor under the gateway's cold
// start: exec of a bootstrap holding only the adapter until its first /next.
func BenchmarkColdStartAdapterOnly(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		rt := lambdatest.New()
		cmd := exec.Command(testBootstrap)
		cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + rt.Addr()}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		select {
		case ready := <-rt.Ready():
			total += ready.Sub(start)
		case <-time.After(10 * time.Second):
			b.Error("bootstrap never became ready")
		}
		rt.Close()
		cmd.Wait()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/start")
}
