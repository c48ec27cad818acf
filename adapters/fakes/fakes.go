// Package fakes holds test servers that speak the real wire protocols the
// serverless builds depend on: an OpenAI-compatible provider (Groq's API),
// AWS Secrets Manager's JSON 1.1 protocol and Google Secret Manager's gRPC
// service. End-to-end tests point the real binaries at them.
package fakes

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Provider is an OpenAI-compatible chat completions server that accepts
// one API key at a time, as a provider does after a key rotation.
type Provider struct {
	*httptest.Server
	mu    sync.Mutex
	key   string
	keys  []string // Authorization keys seen, in order
	calls int
	// BeforeChunk, if set, runs before stream chunk i (i > 0) is written, so
	// a test can hold the stream until the previous chunk reached the client.
	BeforeChunk func(i int)
}

// NewProvider starts a provider that accepts key.
func NewProvider(key string) *Provider {
	p := &Provider{key: key}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// SetKey rotates the accepted key; the old one now gets 401.
func (p *Provider) SetKey(k string) { p.mu.Lock(); p.key = k; p.mu.Unlock() }

// KeysSeen returns the bearer keys of every call so far.
func (p *Provider) KeysSeen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.keys...)
}

// StreamChunks is what a streamed answer carries, one content delta each.
// Each ends a word: the gateway may hold back a partial word (its output
// guard scans across chunk boundaries), so a test that waits for chunk i
// before sending chunk i+1 must not split words.
var StreamChunks = []string{"Hello ", "from ", "the stream"}

func (p *Provider) serve(w http.ResponseWriter, r *http.Request) {
	got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	p.calls++
	p.keys = append(p.keys, got)
	ok := got == p.key
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") || r.Method != http.MethodPost {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":{"message":"Unknown request URL","type":"invalid_request_error","code":"unknown_url"}}`)
		return
	}
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}`)
		return
	}
	var req struct {
		Model  string `json:"model"`
		Stream bool   `json:"stream"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":{"message":"invalid JSON","type":"invalid_request_error"}}`)
		return
	}
	if !req.Stream {
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1795784400,"model":%q,`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello world"},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`, req.Model)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	flush := func() { http.NewResponseController(w).Flush() } //nolint:errcheck
	for i, c := range StreamChunks {
		if i > 0 && p.BeforeChunk != nil {
			p.BeforeChunk(i)
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1795784400,\"model\":%q,"+
			"\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", req.Model, c)
		flush()
	}
	fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1795784400,\"model\":%q,"+
		"\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"+
		"\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\ndata: [DONE]\n\n", req.Model)
	flush()
}

// AWSSecrets speaks Secrets Manager's JSON 1.1 protocol for GetSecretValue.
// Point the SDK at it with AWS_ENDPOINT_URL_SECRETS_MANAGER=URL.
type AWSSecrets struct {
	*httptest.Server
	mu      sync.Mutex
	secrets map[string]string
}

// NewAWSSecrets starts the fake with the given SecretId -> SecretString.
func NewAWSSecrets(secrets map[string]string) *AWSSecrets {
	f := &AWSSecrets{secrets: map[string]string{}}
	for k, v := range secrets {
		f.secrets[k] = v
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// Set stores a new current version of a secret.
func (f *AWSSecrets) Set(id, v string) { f.mu.Lock(); f.secrets[id] = v; f.mu.Unlock() }

func (f *AWSSecrets) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(typ, msg string) {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg}) //nolint:errcheck
	}
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail("InvalidRequestException", "unsupported or unsigned request")
		return
	}
	var in struct{ SecretId string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail("InvalidParameterException", "bad JSON")
		return
	}
	f.mu.Lock()
	v, ok := f.secrets[in.SecretId]
	f.mu.Unlock()
	if !ok {
		fail("ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck
		"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + in.SecretId, "Name": in.SecretId,
		"VersionId": "v", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9, "SecretString": v,
	})
}

// GCPSecrets is a Secret Manager gRPC server (AccessSecretVersion only),
// registered with the real service descriptor. Point the gateway at it with
// SECRET_MANAGER_EMULATOR_HOST=Addr.
type GCPSecrets struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	Addr     string
	srv      *grpc.Server
	mu       sync.Mutex
	versions map[string]string
}

// NewGCPSecrets serves full version names -> payloads on 127.0.0.1.
func NewGCPSecrets(versions map[string]string) (*GCPSecrets, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &GCPSecrets{Addr: lis.Addr().String(), srv: grpc.NewServer(), versions: map[string]string{}}
	for k, v := range versions {
		f.versions[k] = v
	}
	secretmanagerpb.RegisterSecretManagerServiceServer(f.srv, f)
	go f.srv.Serve(lis) //nolint:errcheck // ends with Close
	return f, nil
}

// Set stores a new payload for a version name.
func (f *GCPSecrets) Set(name, v string) { f.mu.Lock(); f.versions[name] = v; f.mu.Unlock() }

// Close stops the server.
func (f *GCPSecrets) Close() { f.srv.Stop() }

// AccessSecretVersion implements the Secret Manager RPC.
func (f *GCPSecrets) AccessSecretVersion(_ context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	f.mu.Lock()
	v, ok := f.versions[req.GetName()]
	f.mu.Unlock()
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", req.GetName())
	}
	sum := int64(crc32.Checksum([]byte(v), crc32.MakeTable(crc32.Castagnoli)))
	return &secretmanagerpb.AccessSecretVersionResponse{Name: req.GetName(),
		Payload: &secretmanagerpb.SecretPayload{Data: []byte(v), DataCrc32C: &sum}}, nil
}

// LogBuffer collects what a gateway under test logs from many goroutines
// (or what a child process writes to its stderr) and can be read while it
// is still written to.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Reset empties the buffer.
func (l *LogBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}
