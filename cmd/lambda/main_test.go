package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-secure-gateway/gateway/adapters/awslambda/lambdatest"
	"github.com/llm-secure-gateway/gateway/adapters/fakes"
)

// bootstrap is ./cmd/lambda built exactly as SPEC.md says, for this host.
var bootstrap string

const buildTags = "lambda.norpc"

func build(out, goarch string) error {
	cmd := exec.Command("go", "build", "-tags", buildTags, "-trimpath", "-ldflags", "-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build bootstrap for %s: %w\n%s", goarch, err, b)
	}
	return nil
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bootstrap")
	if err != nil {
		panic(err)
	}
	bootstrap = filepath.Join(dir, "bootstrap")
	if runtime.GOOS == "linux" {
		if err := build(bootstrap, runtime.GOARCH); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type instance struct {
	rt     *lambdatest.Runtime
	logs   *fakes.LogBuffer
	exited chan error
	start  time.Time
}

// start runs the bootstrap as Lambda would: a fresh environment holding
// only the Runtime API address, the function's configuration and the role's
// credentials.
func start(t *testing.T, env ...string) *instance {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the bootstrap is a linux binary")
	}
	in := &instance{rt: lambdatest.New(), logs: &fakes.LogBuffer{}, exited: make(chan error, 1)}
	cmd := exec.Command(bootstrap)
	cmd.Env = append([]string{
		"AWS_LAMBDA_RUNTIME_API=" + in.rt.Addr(),
		"AWS_REGION=eu-west-1", "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=test-secret", "AWS_SESSION_TOKEN=tok",
		"AWS_LAMBDA_FUNCTION_NAME=gateway", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"PROVIDER_ORDER=groq", "SAFETY_CHECK=off", "RATE_LIMIT=1000/minute",
	}, env...)
	cmd.Stdout, cmd.Stderr = in.logs, in.logs
	in.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		in.rt.Close()
		select {
		case <-in.exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			t.Errorf("bootstrap did not exit; logs:\n%s", in.logs)
		}
	})
	return in
}

func (in *instance) invoke(t *testing.T, ev []byte) lambdatest.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := in.rt.Invoke(ctx, ev, 30*time.Second)
	if err != nil {
		t.Fatalf("%v; logs:\n%s", err, in.logs)
	}
	if res.Error {
		t.Fatalf("invocation error %s; logs:\n%s", res.Body, in.logs)
	}
	return res
}

// event rewrites one of the adapter's sample events to carry route and body.
func event(t *testing.T, file, route, body string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "adapters", "awslambda", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	rc := ev["requestContext"].(map[string]any)
	switch {
	case ev["rawPath"] != nil:
		prefix := ""
		if s, _ := rc["stage"].(string); s != "$default" {
			prefix = "/" + s // HTTP API leaves a named stage in rawPath
		}
		ev["rawPath"] = prefix + route
		rc["http"].(map[string]any)["path"] = prefix + route
		ev["rawQueryString"] = ""
		delete(ev, "queryStringParameters")
	default:
		ev["path"] = route
		if rc["stage"] != nil {
			rc["path"] = "/" + rc["stage"].(string) + route
		}
		delete(ev, "queryStringParameters")
		delete(ev, "multiValueQueryStringParameters")
	}
	ev["body"], ev["isBase64Encoded"] = base64.StdEncoding.EncodeToString([]byte(body)), true
	b, _ := json.Marshal(ev)
	return b
}

// answer decodes a buffered or streamed result into status and body.
func answer(t *testing.T, res lambdatest.Result) (int, map[string]string, []byte) {
	t.Helper()
	if res.ContentType == lambdatest.StreamContentType {
		p, err := res.DecodePrelude()
		if err != nil {
			t.Fatal(err)
		}
		return p.StatusCode, p.Headers, res.Body
	}
	var out struct {
		StatusCode        int
		Headers           map[string]string
		MultiValueHeaders map[string][]string
		Body              string
		IsBase64Encoded   bool
	}
	if err := json.Unmarshal(res.Body, &out); err != nil {
		t.Fatalf("answer %s: %v", res.Body, err)
	}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	for k, v := range out.MultiValueHeaders {
		out.Headers[k] = strings.Join(v, ",")
	}
	body := []byte(out.Body)
	if out.IsBase64Encoded {
		body, _ = base64.StdEncoding.DecodeString(out.Body)
	}
	return out.StatusCode, out.Headers, body
}

func header(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func secretsEnv(sm *fakes.AWSSecrets, prov *fakes.Provider) []string {
	return []string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + sm.URL,
		"SERVICE_API_KEY=awssm://gateway/service#key",
		"GROQ_API_KEY=awssm://gateway/groq",
		"GROQ_BASE_URL=" + prov.URL,
	}
}

var allEvents = []string{"function-url.json", "http-api.json", "rest-api.json", "alb.json", "alb-single.json"}

// Every trigger, through the real bootstrap and core, with keys resolved from
// (fake) Secrets Manager before the first /next; then a key rotation.
func TestBootstrapEndToEnd(t *testing.T) {
	sm := fakes.NewAWSSecrets(map[string]string{"gateway/service": `{"key":"svc-key"}`, "gateway/groq": "groq-old"})
	defer sm.Close()
	prov := fakes.NewProvider("groq-old")
	defer prov.Close()
	in := start(t, append(secretsEnv(sm, prov), "LAMBDA_INVOKE_MODE=RESPONSE_STREAM")...)

	for _, file := range allEvents {
		t.Run(file, func(t *testing.T) {
			res := in.invoke(t, event(t, file, "/query", `{"prompt":"Say hello"}`))
			status, h, body := answer(t, res)
			var q struct {
				Response, Provider, Status, RequestID string `json:"-"`
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("status %d body %q", status, body)
			}
			q.Provider, _ = m["provider"].(string)
			q.RequestID, _ = m["request_id"].(string)
			if status != 200 || q.Provider != "groq" || m["response"] != "Hello world" {
				t.Fatalf("status %d body %s; logs:\n%s", status, body, in.logs)
			}
			// Lambda's request id is the gateway's, in body, header and log.
			if q.RequestID != res.ID || header(h, "X-Request-Id") != res.ID {
				t.Fatalf("request id %q / header %q, want Lambda's %q", q.RequestID, header(h, "X-Request-Id"), res.ID)
			}
		})
	}
	if !strings.Contains(in.logs.String(), `"`+"req-0001"+`"`) {
		t.Errorf("log lines do not carry Lambda's request id:\n%s", in.logs)
	}

	// Rotation: the provider now refuses the old key and Secrets Manager holds
	// the new one; the next request re-reads the secret and succeeds.
	sm.Set("gateway/groq", "groq-new")
	prov.SetKey("groq-new")
	status, _, body := answer(t, in.invoke(t, event(t, "http-api.json", "/query", `{"prompt":"again"}`)))
	if status != 200 {
		t.Fatalf("after rotation: status %d body %s; logs:\n%s", status, body, in.logs)
	}
	keys := prov.KeysSeen()
	if n := len(keys); n < 2 || keys[n-2] != "groq-old" || keys[n-1] != "groq-new" {
		t.Fatalf("provider saw keys %v, want ... groq-old, groq-new", keys)
	}
	for _, secret := range []string{"svc-key", "groq-old", "groq-new"} {
		if strings.Contains(in.logs.String(), secret) {
			t.Fatalf("a key reached the logs:\n%s", in.logs)
		}
	}
}

// A streamed chat completion through the Function URL arrives at the Runtime
// API chunk by chunk: the provider holds each chunk until the previous one
// got there, so a buffered path would stall and fail.
func TestBootstrapStreamsChatCompletion(t *testing.T) {
	sm := fakes.NewAWSSecrets(map[string]string{"gateway/service": `{"key":"svc-key"}`, "gateway/groq": "groq-old"})
	defer sm.Close()
	prov := fakes.NewProvider("groq-old")
	defer prov.Close()
	arrived := make([]chan struct{}, len(fakes.StreamChunks))
	for i := range arrived {
		arrived[i] = make(chan struct{})
	}
	prov.BeforeChunk = func(i int) {
		select {
		case <-arrived[i-1]:
		case <-time.After(5 * time.Second):
		}
	}
	in := start(t, append(secretsEnv(sm, prov), "LAMBDA_INVOKE_MODE=RESPONSE_STREAM")...)
	var mu sync.Mutex
	var got strings.Builder
	in.rt.OnChunk = func(_ string, data []byte) {
		mu.Lock()
		defer mu.Unlock()
		got.Write(data)
		for i, c := range fakes.StreamChunks {
			if strings.Contains(got.String(), fmt.Sprintf("%q", c)) {
				select {
				case <-arrived[i]:
				default:
					close(arrived[i])
				}
			}
		}
	}
	start := time.Now()
	res := in.invoke(t, event(t, "function-url.json", "/v1/chat/completions",
		`{"model":"auto","stream":true,"messages":[{"role":"user","content":"Say hello"}]}`))
	elapsed := time.Since(start)
	status, h, body := answer(t, res)
	if res.ContentType != lambdatest.StreamContentType || status != 200 || !strings.HasPrefix(header(h, "Content-Type"), "text/event-stream") {
		t.Fatalf("streamed=%v status %d headers %v body %s", res.ContentType == lambdatest.StreamContentType, status, h, body)
	}
	var text strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || line == "[DONE]" {
			continue
		}
		var c struct {
			Choices []struct{ Delta struct{ Content string } }
		}
		json.Unmarshal([]byte(line), &c)
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if text.String() != strings.Join(fakes.StreamChunks, "") || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("streamed text %q body %q", text.String(), body)
	}
	if len(res.Chunks) < len(fakes.StreamChunks) || elapsed > 4*time.Second {
		for _, c := range res.Chunks {
			t.Logf("+%v %q", c.At.Sub(start), c.Data)
		}
		t.Fatalf("%d chunks in %v: the answer was buffered", len(res.Chunks), elapsed)
	}
	t.Logf("%d chunks, %v", len(res.Chunks), elapsed)
}

// A reference that cannot resolve fails the instance before the first /next
// with one JSON line naming the variable, never a value.
func TestBootstrapBadSecretFailsInit(t *testing.T) {
	sm := fakes.NewAWSSecrets(map[string]string{"gateway/service": `{"key":"svc-key"}`})
	defer sm.Close()
	prov := fakes.NewProvider("x")
	defer prov.Close()
	in := start(t, secretsEnv(sm, prov)...)
	select {
	case err := <-in.exited:
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1", err)
		}
	case <-in.rt.Ready():
		t.Fatal("bootstrap asked for work despite an unresolvable secret")
	case <-time.After(15 * time.Second):
		t.Fatal("bootstrap neither failed nor became ready")
	}
	in.exited <- nil // for Cleanup
	lines := strings.Split(strings.TrimSpace(in.logs.String()), "\n")
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &entry); err != nil {
		t.Fatalf("last line is not JSON: %q", lines[len(lines)-1])
	}
	msg, _ := entry["message"].(string)
	if entry["severity"] != "ERROR" || !strings.Contains(msg, "GROQ_API_KEY") || strings.Contains(in.logs.String(), "svc-key") {
		t.Fatalf("startup error line %v", entry)
	}
}

// The Lambda binary must not link Google's SDK, and must be built as
// SPEC.md says.
func TestBootstrapLinks(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux only")
	}
	out, err := exec.Command("go", "version", "-m", bootstrap).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	for _, banned := range []string{"cloud.google.com/", "google.golang.org/grpc", "functions-framework-go"} {
		if strings.Contains(string(out), banned) {
			t.Errorf("bootstrap links %s", banned)
		}
	}
	for _, want := range []string{"-tags=" + buildTags, "CGO_ENABLED=0", "-trimpath=true", "github.com/aws/aws-sdk-go-v2/service/secretsmanager"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bootstrap build info lacks %s:\n%s", want, out)
		}
	}
}

// BenchmarkBinarySize reports the stripped bootstrap's size for the arm64
// build template.yaml deploys and for amd64. SPEC.md's budget: 15 MiB.
func BenchmarkBinarySize(b *testing.B) {
	for _, arch := range []string{"arm64", "amd64"} {
		b.Run(arch, func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "bootstrap")
			if err := build(p, arch); err != nil {
				b.Fatal(err)
			}
			st, err := os.Stat(p)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
			}
			mib := float64(st.Size()) / (1 << 20)
			b.ReportMetric(mib, "MiB")
			if mib > 15 {
				b.Logf("linux/%s: %.2f MiB is over the 15 MiB budget", arch, mib)
			}
		})
	}
}

// BenchmarkColdStart: exec of the stripped bootstrap until it asks the
// Runtime API for work, with literal keys (no secret fetches). SPEC.md's
// budget: 30 ms.
func BenchmarkColdStart(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		total += coldStartB(b)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/start")
}

func coldStartB(b *testing.B) time.Duration {
	rt := lambdatest.New()
	cmd := exec.Command(bootstrap)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + rt.Addr(), "SERVICE_API_KEY=svc-key", "GROQ_API_KEY=literal-key",
		"PROVIDER_ORDER=groq", "SAFETY_CHECK=off"}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { rt.Close(); cmd.Wait() }()
	select {
	case ready := <-rt.Ready():
		return ready.Sub(start)
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		b.Fatal("bootstrap never became ready")
	}
	return 0
}
