package gcpsecrets

import (
	"context"
	"errors"
	"hash/crc32"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/llm-secure-gateway/gateway/function/secrets"
)

// fakeSM speaks Secret Manager's gRPC service, registered with the real
// service descriptor, so the real client library talks to it unchanged.
type fakeSM struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	mu       sync.Mutex
	versions map[string][]byte // full version name -> payload
	badCRC   map[string]bool
	calls    []string
	auth     []string
}

func (f *fakeSM) AccessSecretVersion(ctx context.Context, req *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req.GetName())
	md, _ := metadata.FromIncomingContext(ctx)
	f.auth = append(f.auth, strings.Join(md.Get("authorization"), ","))
	data, ok := f.versions[req.GetName()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Secret [%s] not found or has no versions.", req.GetName())
	}
	sum := int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	if f.badCRC[req.GetName()] {
		sum++
	}
	return &secretmanagerpb.AccessSecretVersionResponse{
		Name:    req.GetName(),
		Payload: &secretmanagerpb.SecretPayload{Data: data, DataCrc32C: &sum},
	}, nil
}

func (f *fakeSM) set(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versions[name] = []byte(value)
}

// StartFake serves a fake Secret Manager on 127.0.0.1 and returns its address.
func startFake(t *testing.T) (*fakeSM, string) {
	t.Helper()
	f := &fakeSM{versions: map[string][]byte{}, badCRC: map[string]bool{}}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	secretmanagerpb.RegisterSecretManagerServiceServer(s, f)
	go s.Serve(lis) //nolint:errcheck // ends with Stop
	t.Cleanup(s.Stop)
	return f, lis.Addr().String()
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestResourceName(t *testing.T) {
	tests := []struct {
		in, project, want string
		err               bool
	}{
		{"gemini-key", "p1", "projects/p1/secrets/gemini-key/versions/latest", false},
		{"gemini-key", "", "", true},
		{"projects/p2/secrets/s", "p1", "projects/p2/secrets/s/versions/latest", false},
		{"projects/p2/secrets/s/versions/7", "", "projects/p2/secrets/s/versions/7", false},
		{"projects/p2/secrets/s/versions/", "", "", true},
		{"projects/p2/locations/eu/secrets/s", "", "", true},
		{"a/b", "p1", "", true},
		{"", "p1", "", true},
	}
	for _, tt := range tests {
		got, err := ResourceName(tt.in, tt.project)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ResourceName(%q, %q) = %q, %v; want %q, err=%v", tt.in, tt.project, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrBadRef) {
			t.Errorf("ResourceName(%q): error %v is not ErrBadRef", tt.in, err)
		}
	}
}

func TestFetchThroughRealClient(t *testing.T) {
	f, addr := startFake(t)
	f.set("projects/p1/secrets/gemini/versions/latest", "g-key-1")
	f.set("projects/p9/secrets/json/versions/3", `{"key":"from-json","other":"x"}`)
	f.set("projects/p1/secrets/tampered/versions/latest", "v")
	f.badCRC["projects/p1/secrets/tampered/versions/latest"] = true

	b := New(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "p1", "SECRET_MANAGER_EMULATOR_HOST": addr}))
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	tests := []struct {
		ref     string
		want    string
		wantErr error
		code    codes.Code
	}{
		{ref: "sm://gemini", want: "g-key-1"},
		{ref: "sm://projects/p9/secrets/json/versions/3#key", want: "from-json"},
		{ref: "sm://missing", code: codes.NotFound},
		{ref: "sm://tampered", wantErr: ErrChecksum},
		{ref: "sm://a/b", wantErr: ErrBadRef},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			set := secrets.NewSet(map[string]secrets.Backend{Scheme: b}, time.Minute)
			err := set.Load(ctx, map[string]string{"GEMINI_API_KEY": tt.ref})
			switch {
			case tt.code != codes.OK:
				if status.Code(errors.Unwrap(errors.Unwrap(err))) != tt.code && !strings.Contains(err.Error(), tt.code.String()) {
					t.Fatalf("err = %v, want code %v", err, tt.code)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				got, _ := set.Get(ctx, "GEMINI_API_KEY")
				if got != tt.want {
					t.Fatalf("value = %q, want %q", got, tt.want)
				}
			}
			if err != nil && !strings.Contains(err.Error(), "GEMINI_API_KEY") {
				t.Errorf("error %q does not name the variable", err)
			}
		})
	}
	for _, a := range f.auth {
		if a != "" {
			t.Errorf("emulator mode sent credentials: %q", a)
		}
	}
}

func TestFetchStatusCodeSurvivesWrapping(t *testing.T) {
	_, addr := startFake(t)
	b := New(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "p1", "SECRET_MANAGER_EMULATOR_HOST": addr}))
	t.Cleanup(func() { b.Close() })
	_, err := b.Fetch(context.Background(), secrets.Ref{Scheme: Scheme, Name: "nope"})
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) || se.GRPCStatus().Code() != codes.NotFound {
		t.Fatalf("err = %v, want a NotFound gRPC status reachable with errors.As", err)
	}
}

func TestRotationAndClientReuse(t *testing.T) {
	f, addr := startFake(t)
	name := "projects/p1/secrets/groq/versions/latest"
	f.set(name, "old")
	b := New(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "p1", "SECRET_MANAGER_EMULATOR_HOST": addr}))
	t.Cleanup(func() { b.Close() })
	set := secrets.NewSet(map[string]secrets.Backend{Scheme: b}, time.Hour)
	ctx := context.Background()
	if err := set.Load(ctx, map[string]string{"GROQ_API_KEY": "sm://groq"}); err != nil {
		t.Fatal(err)
	}
	first := b.client
	f.set(name, "new")
	if v, _ := set.Get(ctx, "GROQ_API_KEY"); v != "old" {
		t.Fatalf("within TTL got %q, want cached old", v)
	}
	if v, err := set.Refresh(ctx, "GROQ_API_KEY"); err != nil || v != "new" {
		t.Fatalf("Refresh = %q, %v; want new", v, err)
	}
	if b.client != first {
		t.Fatal("client was recreated; want one per instance")
	}
}

func TestNoClientWithoutReference(t *testing.T) {
	b := New(env(nil))
	set := secrets.NewSet(map[string]secrets.Backend{Scheme: b}, time.Minute)
	if err := set.Load(context.Background(), map[string]string{"SERVICE_API_KEY": "literal"}); err != nil {
		t.Fatal(err)
	}
	if b.client != nil {
		t.Fatal("client created although no sm:// reference was used")
	}
}

func TestTimeoutBoundsFetch(t *testing.T) {
	// A server that never answers: the backend's own timeout must end the call.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	block := make(chan struct{})
	secretmanagerpb.RegisterSecretManagerServiceServer(s, &hang{block: block})
	go s.Serve(lis) //nolint:errcheck
	t.Cleanup(func() { close(block); s.Stop() })

	b := New(env(map[string]string{"GOOGLE_CLOUD_PROJECT": "p", "SECRET_MANAGER_EMULATOR_HOST": lis.Addr().String()}))
	b.timeout = 200 * time.Millisecond
	t.Cleanup(func() { b.Close() })
	start := time.Now()
	_, err = b.Fetch(context.Background(), secrets.Ref{Scheme: Scheme, Name: "s"})
	if status.Code(errors.Unwrap(err)) != codes.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("fetch took %v", d)
	}
}

type hang struct {
	secretmanagerpb.UnimplementedSecretManagerServiceServer
	block chan struct{}
}

func (h *hang) AccessSecretVersion(ctx context.Context, _ *secretmanagerpb.AccessSecretVersionRequest) (*secretmanagerpb.AccessSecretVersionResponse, error) {
	select {
	case <-ctx.Done():
	case <-h.block:
	}
	return nil, status.Error(codes.Unavailable, "hung")
}
