package gateway

// Root tests stay in package gateway: Google's buildpack parses this
// directory, tests included, and a second package name fails the deploy.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llm-secure-gateway/gateway/adapters/fakes"
)

// gcloudIgnore reads .gcloudignore's patterns: the subset of gitignore
// syntax the file uses (anchored "/x", directory "x/", basename globs).
type gcloudIgnore []string

func (g gcloudIgnore) ignored(rel string, dir bool) bool {
	for _, p := range g {
		dirOnly := strings.HasSuffix(p, "/")
		p = strings.TrimSuffix(p, "/")
		if dirOnly && !dir {
			continue
		}
		var ok bool
		if anchored := strings.TrimPrefix(p, "/"); anchored != p || strings.Contains(p, "/") {
			ok, _ = path.Match(anchored, rel)
		} else {
			ok, _ = path.Match(p, path.Base(rel))
		}
		if ok {
			return true
		}
	}
	return false
}

// upload copies the module root as `gcloud functions deploy --source=.`
// would upload it, honouring .gcloudignore.
func upload(dst string) error {
	raw, err := os.ReadFile(".gcloudignore")
	if err != nil {
		return err
	}
	var ign gcloudIgnore
	for line := range strings.SplitSeq(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ign = append(ign, line)
		}
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return err
	}
	return filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == "." {
			return err
		}
		rel := filepath.ToSlash(p)
		if ign.ignored(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, p), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, p), b, 0o644)
	})
}

// buildpackMain is the buildpack's declarative-function main: a blank
// import of the module root and funcframework.Start, with FUNCTION_TARGET
// choosing the registered function at run time.
const buildpackMain = `package main

import (
	"log"
	"os"

	_ "github.com/llm-secure-gateway/gateway"
	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
)

func main() {
	port := "8080"
	if envPort := os.Getenv("PORT"); envPort != "" {
		port = envPort
	}
	if err := funcframework.Start(port); err != nil {
		log.Fatalf("funcframework.Start: %v\n", err)
	}
}
`

var (
	fnOnce   sync.Once
	fnBinary string
	fnErr    error
	fnDir    string
)

// functionBinary builds the function as Google's buildpack would, from the
// .gcloudignore-filtered upload, with GOOGLE_GOLDFLAGS="-s -w"; once.
func functionBinary(t testing.TB) string {
	t.Helper()
	fnOnce.Do(func() {
		fnDir, fnErr = os.MkdirTemp("", "gcf-build")
		if fnErr != nil {
			return
		}
		src, app := filepath.Join(fnDir, "src"), filepath.Join(fnDir, "app")
		if fnErr = upload(src); fnErr != nil {
			return
		}
		os.MkdirAll(app, 0o755)
		sum, _ := os.ReadFile(filepath.Join(src, "go.sum"))
		os.WriteFile(filepath.Join(app, "go.sum"), sum, 0o644)
		os.WriteFile(filepath.Join(app, "main.go"), []byte(buildpackMain), 0o644)
		os.WriteFile(filepath.Join(app, "go.mod"), []byte("module functions.local/app\n\ngo 1.26.0\n\n"+
			"require github.com/llm-secure-gateway/gateway v0.0.0\n\n"+
			"replace github.com/llm-secure-gateway/gateway => ../src\n"), 0o644)
		fnBinary = filepath.Join(fnDir, "fn")
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", fnBinary, ".")
		cmd.Dir = app
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fnErr = fmt.Errorf("buildpack-style build: %w\n%s", err, out)
		}
	})
	if fnErr != nil {
		t.Fatal(fnErr)
	}
	return fnBinary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fnDir != "" {
		os.RemoveAll(fnDir)
	}
	os.Exit(code)
}

type instance struct {
	url    string
	logs   *fakes.LogBuffer
	exited chan error
	start  time.Time
	stop   func()
}

func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// run starts the function as Cloud Run does: PORT, FUNCTION_TARGET,
// K_SERVICE, and the deployment's environment.
func run(t testing.TB, env ...string) *instance {
	t.Helper()
	bin := functionBinary(t)
	port := freePort(t)
	in := &instance{url: "http://127.0.0.1:" + port, logs: &fakes.LogBuffer{}, exited: make(chan error, 1)}
	cmd := exec.Command(bin)
	cmd.Env = append([]string{"PORT=" + port, "FUNCTION_TARGET=" + EntryPoint, "K_SERVICE=llm-gateway",
		"K_REVISION=llm-gateway-00001", "GOOGLE_CLOUD_PROJECT=p1", "PROVIDER_ORDER=groq", "SAFETY_CHECK=off",
		"RATE_LIMIT=1000/minute"}, env...)
	cmd.Stdout, cmd.Stderr = in.logs, in.logs
	in.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { in.exited <- cmd.Wait() }()
	var once sync.Once
	in.stop = func() {
		once.Do(func() {
			cmd.Process.Kill() // funcframework.Start cannot be shut down
			<-in.exited
		})
	}
	t.Cleanup(in.stop)
	return in
}

// ready waits until the function answers /health and returns how long
// that took from exec.
func (in *instance) ready(t testing.TB) time.Duration {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-in.exited:
			in.exited <- err
			t.Fatalf("function exited: %v\n%s", err, in.logs)
		default:
		}
		resp, err := http.Get(in.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(in.start)
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("function never became healthy\n%s", in.logs)
	return 0
}

func query(t *testing.T, in *instance, prompt string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", in.url+"/query", strings.NewReader(`{"prompt":`+fmt.Sprintf("%q", prompt)+`}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-API-Key", "svc-key")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("status %d body %q", resp.StatusCode, body)
	}
	return resp.StatusCode, m
}

// The function as Google's buildpack builds it, over HTTP, with keys from
// (fake) Secret Manager through the real client, then a key rotation.
func TestBuildpackFunction(t *testing.T) {
	bin := functionBinary(t)
	out, err := exec.Command("go", "version", "-m", bin).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "github.com/aws/") {
		t.Errorf("the Cloud Functions build links the AWS SDK:\n%s", out)
	}
	if !strings.Contains(string(out), "cloud.google.com/go/secretmanager") {
		t.Errorf("the Cloud Functions build lacks the Secret Manager client")
	}
	if st, err := os.Stat(bin); err == nil {
		t.Logf("buildpack-style binary (-s -w): %.1f MiB", float64(st.Size())/(1<<20))
	}

	const groqName = "projects/p1/secrets/llm-keys/versions/latest"
	sm, err := fakes.NewGCPSecrets(map[string]string{
		"projects/p1/secrets/service-key/versions/latest": "svc-key",
		groqName: `{"groq":"groq-old"}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	prov := fakes.NewProvider("groq-old")
	defer prov.Close()
	in := run(t, "SECRET_MANAGER_EMULATOR_HOST="+sm.Addr, "SERVICE_API_KEY=sm://service-key",
		"GROQ_API_KEY=sm://projects/p1/secrets/llm-keys#groq", "GROQ_BASE_URL="+prov.URL)
	t.Logf("ready after %v (with two secret fetches)", in.ready(t))

	trace := "105445aa7843bc8bf206b12000100000"
	status, body := query(t, in, "Say hello", map[string]string{
		"X-Cloud-Trace-Context": trace + "/1;o=1",
		"X-Forwarded-For":       "203.0.113.7",
	})
	if status != 200 || body["provider"] != "groq" || body["response"] != "Hello world" {
		t.Fatalf("status %d body %v\nlogs:\n%s", status, body, in.logs)
	}
	// The log line is written once the answer is out, so it may trail the
	// response by a moment.
	want := `"logging.googleapis.com/trace":"projects/p1/traces/` + trace + `"`
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(in.logs.String(), want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(in.logs.String(), want) {
		t.Errorf("request log lacks the Cloud Trace field:\n%s", in.logs)
	}

	sm.Set(groqName, `{"groq":"groq-new"}`)
	prov.SetKey("groq-new")
	status, body = query(t, in, "again", nil)
	if status != 200 {
		t.Fatalf("after rotation: status %d body %v\nlogs:\n%s", status, body, in.logs)
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
	sc := bufio.NewScanner(strings.NewReader(in.logs.String()))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !json.Valid([]byte(line)) {
			t.Errorf("non-JSON log line: %q", line)
		}
	}
}

// A reference that cannot resolve fails the instance at start with one
// JSON line that names the variable.
func TestBuildpackBadSecretFailsInstance(t *testing.T) {
	sm, err := fakes.NewGCPSecrets(map[string]string{"projects/p1/secrets/service-key/versions/latest": "svc-key"})
	if err != nil {
		t.Fatal(err)
	}
	defer sm.Close()
	in := run(t, "SECRET_MANAGER_EMULATOR_HOST="+sm.Addr, "SERVICE_API_KEY=sm://service-key", "GROQ_API_KEY=sm://missing")
	select {
	case err := <-in.exited:
		in.exited <- err
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("exit %v, want status 1", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("function did not fail")
	}
	lines := strings.Split(strings.TrimSpace(in.logs.String()), "\n")
	var entry map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &entry); err != nil {
		t.Fatalf("last line is not JSON: %q", in.logs)
	}
	if msg, _ := entry["message"].(string); entry["severity"] != "ERROR" || !strings.Contains(msg, "GROQ_API_KEY") || strings.Contains(in.logs.String(), "svc-key") {
		t.Fatalf("startup error line %v", entry)
	}
}

func TestNewHandler(t *testing.T) {
	base := map[string]string{"SERVICE_API_KEY": "svc-key", "GROQ_API_KEY": "k", "PROVIDER_ORDER": "groq", "SAFETY_CHECK": "off"}
	tests := []struct {
		name    string
		change  map[string]string
		wantErr string
	}{
		{"literal keys", nil, ""},
		{"on Cloud Run", map[string]string{"K_SERVICE": "gw"}, ""},
		{"no service key", map[string]string{"SERVICE_API_KEY": ""}, "SERVICE_API_KEY"},
		{"no provider key", map[string]string{"GROQ_API_KEY": ""}, "No LLM provider API key configured"},
		{"awssm in a GCP build", map[string]string{"GROQ_API_KEY": "awssm://x"}, "GROQ_API_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.change {
				env[k] = v
			}
			h, err := newHandler(context.Background(), func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "svc-key") {
					t.Fatalf("error holds a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
			if rec.Code != 200 {
				t.Fatalf("/health = %d %s", rec.Code, rec.Body)
			}
		})
	}
}

func TestUnconfiguredAnswersJSON500(t *testing.T) {
	rec := httptest.NewRecorder()
	unconfigured().ServeHTTP(rec, httptest.NewRequest("POST", "/query", nil))
	var body map[string]any
	if rec.Code != 500 || rec.Header().Get("Content-Type") != "application/json" || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		t.Fatalf("%d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

// Cold start of the buildpack-built function: exec until /health answers,
// with literal keys (no secret fetches). SPEC budget: 30 ms.
func BenchmarkColdStart(b *testing.B) {
	var total time.Duration
	for b.Loop() {
		in := run(b, "SERVICE_API_KEY=svc-key", "GROQ_API_KEY=k", "GROQ_BASE_URL=http://127.0.0.1:9")
		total += in.ready(b)
		in.stop()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms/start")
}
