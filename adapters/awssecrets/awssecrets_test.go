package awssecrets

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/llm-secure-gateway/gateway/function/secrets"
)

// fakeSM speaks Secrets Manager's JSON 1.1 protocol for GetSecretValue,
// errors included, so the real SDK client talks to it unchanged.
type fakeSM struct {
	mu      sync.Mutex
	strings map[string]string
	binary  map[string][]byte
	calls   int
	authz   []string
}

func (f *fakeSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.authz = append(f.authz, r.Header.Get("Authorization"))
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	fail := func(code int, typ, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" ||
		r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" ||
		r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		fail(400, "InvalidRequestException", "unexpected request shape")
		return
	}
	var in struct{ SecretId string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(400, "InvalidParameterException", "bad json")
		return
	}
	out := map[string]any{
		"ARN":           "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + in.SecretId + "-AbCdEf",
		"Name":          in.SecretId,
		"VersionId":     "v1",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   1.7e9,
	}
	if s, ok := f.strings[in.SecretId]; ok {
		out["SecretString"] = s
	} else if b, ok := f.binary[in.SecretId]; ok {
		out["SecretBinary"] = base64.StdEncoding.EncodeToString(b)
	} else {
		fail(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (f *fakeSM) set(id, v string) { f.mu.Lock(); f.strings[id] = v; f.mu.Unlock() }

// startFake points the SDK's standard environment at a local fake, as a
// deployed function would be pointed at a VPC endpoint.
func startFake(t *testing.T) *fakeSM {
	t.Helper()
	f := &fakeSM{strings: map[string]string{}, binary: map[string][]byte{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	return f
}

func TestFetchThroughRealSDK(t *testing.T) {
	f := startFake(t)
	f.set("gateway/groq", "groq-key-1")
	f.set("gateway/all", `{"GEMINI":"gem-key","n":1}`)
	f.binary["gateway/bin"] = []byte("bin-key")

	b := New()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tests := []struct {
		ref     string
		want    string
		errType string
		err     error
	}{
		{ref: "awssm://gateway/groq", want: "groq-key-1"},
		{ref: "awssm://gateway/all#GEMINI", want: "gem-key"},
		{ref: "awssm://gateway/bin", want: "bin-key"},
		{ref: "awssm://gateway/missing", errType: "ResourceNotFoundException"},
		{ref: "awssm://", err: ErrBadRef},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			set := secrets.NewSet(map[string]secrets.Backend{Scheme: b}, time.Minute)
			err := set.Load(ctx, map[string]string{"GROQ_API_KEY": tt.ref})
			switch {
			case tt.errType != "":
				var rnf *types.ResourceNotFoundException
				var api smithy.APIError
				if !errors.As(err, &rnf) || !errors.As(err, &api) || api.ErrorCode() != tt.errType {
					t.Fatalf("err = %v, want %s", err, tt.errType)
				}
			case tt.err != nil:
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if got, _ := set.Get(ctx, "GROQ_API_KEY"); got != tt.want {
					t.Fatalf("value = %q, want %q", got, tt.want)
				}
			}
			if err != nil && !strings.Contains(err.Error(), "GROQ_API_KEY") {
				t.Errorf("error %q does not name the variable", err)
			}
		})
	}
	for _, a := range f.authz {
		if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(a, "/eu-west-1/secretsmanager/aws4_request") {
			t.Errorf("request not SigV4-signed for secretsmanager in eu-west-1: %q", a)
		}
	}
}

func TestRotationReusesClient(t *testing.T) {
	f := startFake(t)
	f.set("k", "old")
	b := New()
	set := secrets.NewSet(map[string]secrets.Backend{Scheme: b}, time.Hour)
	ctx := context.Background()
	if err := set.Load(ctx, map[string]string{"OPENROUTER_API_KEY": "awssm://k"}); err != nil {
		t.Fatal(err)
	}
	c := b.client
	f.set("k", "new")
	if v, _ := set.Get(ctx, "OPENROUTER_API_KEY"); v != "old" {
		t.Fatalf("within TTL got %q", v)
	}
	if v, err := set.Refresh(ctx, "OPENROUTER_API_KEY"); err != nil || v != "new" {
		t.Fatalf("Refresh = %q, %v", v, err)
	}
	if b.client != c || f.calls != 2 {
		t.Fatalf("client reused = %v, calls = %d; want one client, 2 calls", b.client == c, f.calls)
	}
}

func TestRegionFromARN(t *testing.T) {
	f := startFake(t)
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	arn := "arn:aws:secretsmanager:ap-south-1:123456789012:secret:gw-AbCdEf"
	f.set(arn, "v")
	if _, err := New().Fetch(context.Background(), secrets.Ref{Scheme: Scheme, Name: arn}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.authz[0], "/ap-south-1/secretsmanager/") {
		t.Fatalf("signed for wrong region: %q", f.authz[0])
	}
	for _, tt := range []struct{ in, want string }{
		{arn, "ap-south-1"}, {"name", ""}, {"arn:aws:s3:::bucket", ""},
	} {
		if got := RegionOf(tt.in); got != tt.want {
			t.Errorf("RegionOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNoClientWithoutReference(t *testing.T) {
	b := New()
	set := secrets.NewSet(map[string]secrets.Backend{Scheme: b}, time.Minute)
	if err := set.Load(context.Background(), map[string]string{"SERVICE_API_KEY": "literal"}); err != nil {
		t.Fatal(err)
	}
	if b.client != nil {
		t.Fatal("client created although no awssm:// reference was used")
	}
}
