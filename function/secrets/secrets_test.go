package secrets

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

type fakeBackend struct {
	mu     sync.Mutex
	values map[string]string
	calls  int
	fail   bool
}

func (f *fakeBackend) Fetch(_ context.Context, ref Ref) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.fail {
		return "", errors.New("backend down")
	}
	v, ok := f.values[ref.Name]
	if !ok {
		return "", errors.New("not found")
	}
	return v, nil
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want Ref
	}{
		{"sm://projects/p/secrets/s/versions/3", true, Ref{Scheme: "sm", Name: "projects/p/secrets/s/versions/3"}},
		{"sm://groq#key", true, Ref{Scheme: "sm", Name: "groq", Field: "key"}},
		{"awssm://arn:aws:secretsmanager:eu-west-1:1:secret:x#a", true, Ref{Scheme: "awssm", Name: "arn:aws:secretsmanager:eu-west-1:1:secret:x", Field: "a"}},
		{"gsk_literal", false, Ref{}},
		{"https://example.com", false, Ref{}},
	}
	for _, tt := range tests {
		got, ok := ParseRef(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseRef(%q) = %+v %v", tt.in, got, ok)
		}
	}
}

func TestSetLoadGetRefresh(t *testing.T) {
	be := &fakeBackend{values: map[string]string{"a": "one", "j": `{"key":"from-json","n":5}`}}
	s := NewSet(map[string]Backend{"sm": be}, time.Minute)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	err := s.Load(context.Background(), map[string]string{"A": "sm://a", "J": "sm://j#key", "L": "literal-value"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, want := range map[string]string{"A": "one", "J": "from-json", "L": "literal-value"} {
		if got, _ := s.Get(ctx, name); got != want {
			t.Errorf("Get(%s) = %q, want %q", name, got, want)
		}
	}
	calls := be.calls
	s.Get(ctx, "A")
	if be.calls != calls {
		t.Error("Get within the TTL fetched again")
	}
	be.values["a"] = "two"
	now = now.Add(2 * time.Minute)
	if got, _ := s.Get(ctx, "A"); got != "two" {
		t.Errorf("after TTL Get = %q, want two", got)
	}
	be.values["a"] = "three"
	if got, _ := s.Refresh(ctx, "A"); got != "three" {
		t.Errorf("Refresh = %q", got)
	}
	// A failing refetch keeps the last good value.
	be.fail = true
	now = now.Add(2 * time.Minute)
	if got, err := s.Get(ctx, "A"); got != "three" || err != nil {
		t.Errorf("Get with backend down = %q %v", got, err)
	}
	if !s.IsRef("A") || s.IsRef("L") {
		t.Error("IsRef")
	}
	src := s.Source("L")
	if k, _ := src.Key(ctx); k != "literal-value" {
		t.Errorf("Source.Key = %q", k)
	}
}

func TestLoadErrorsNameTheVariableNotTheValue(t *testing.T) {
	be := &fakeBackend{values: map[string]string{"notjson": "s3cr3t-value", "obj": `{"n":5}`}}
	s := NewSet(map[string]Backend{"sm": be}, time.Minute)
	err := s.Load(context.Background(), map[string]string{
		"MISSING": "sm://nope", "FIELD": "sm://notjson#key", "NUMBER": "sm://obj#n", "AWS": "awssm://x",
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, name := range []string{"MISSING", "FIELD", "NUMBER", "AWS"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not name %s: %v", name, err)
		}
	}
	if strings.Contains(err.Error(), "s3cr3t-value") {
		t.Errorf("error holds a secret value: %v", err)
	}
	if !errors.Is(err, ErrNoBackend) {
		t.Errorf("awssm without a backend should match ErrNoBackend: %v", err)
	}
}
