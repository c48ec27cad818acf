package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is a recognisable secret: no error string may ever contain it.
const testKey = "sk-TEST-very-secret-KEY-0123456789"

// seen is one request as the fake upstream received it.
type seen struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// fake is an httptest upstream that records requests and answers with a
// scripted reply per call (the last reply repeats).
type fake struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []seen
	replies []reply
}

// reply is one scripted answer. hang blocks until the client goes away;
// chunked forces a body without Content-Length.
type reply struct {
	status  int
	header  map[string]string
	body    string
	hang    bool
	chunked bool
	// when set, decides the reply from the request (e.g. by key).
	fn func(r *http.Request) reply
}

func newFake(t testing.TB, replies ...reply) *fake {
	t.Helper()
	f := &fake{replies: replies}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, seen{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
	n := len(f.reqs)
	rp := reply{status: http.StatusOK, body: "{}"}
	if len(f.replies) > 0 {
		rp = f.replies[min(n, len(f.replies))-1]
	}
	f.mu.Unlock()
	if rp.fn != nil {
		rp = rp.fn(r)
	}
	if rp.hang {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	}
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	}
	w.WriteHeader(rp.status)
	if rp.chunked {
		// Two writes with a flush between make net/http use chunked encoding.
		half := len(rp.body) / 2
		io.WriteString(w, rp.body[:half])
		w.(http.Flusher).Flush()
		io.WriteString(w, rp.body[half:])
		return
	}
	io.WriteString(w, rp.body)
}

func (f *fake) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fake) last(t testing.TB) seen {
	t.Helper()
	r := f.requests()
	if len(r) == 0 {
		t.Fatal("fake upstream received no request")
	}
	return r[len(r)-1]
}

// jsonBody decodes a recorded request body into a generic map.
func (s seen) jsonBody(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(s.Body, &m); err != nil {
		t.Fatalf("request body is not JSON: %v", err)
	}
	return m
}

// assertNoLeak fails if any error in err's chain, or its %+v form, shows one
// of the secrets.
func assertNoLeak(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	texts := []string{fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts = append(texts, e.Error())
	}
	var pe *Error
	if errors.As(err, &pe) {
		texts = append(texts, pe.Message, pe.Code, strings.Join(pe.Categories, ","))
	}
	for _, txt := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(txt, s) {
				t.Fatalf("error text leaks %q: %s", s, txt)
			}
		}
	}
}

// mustError asserts err is a *Error of the given kind.
func mustError(t testing.TB, err error, kind Kind) *Error {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("got error %v (%T), want *Error of kind %s", err, err, kind)
	}
	if pe.Kind != kind {
		t.Fatalf("kind = %s (%v), want %s", pe.Kind, pe, kind)
	}
	return pe
}

func ptr[T any](v T) *T { return &v }

func bg(t testing.TB) context.Context {
	t.Helper()
	return t.Context()
}

// fakeKeys is a rotating KeySource: Refresh moves to the next key.
type fakeKeys struct {
	mu        sync.Mutex
	keys      []string
	i         int
	refreshes int
}

func (k *fakeKeys) Key(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys[k.i], nil
}

func (k *fakeKeys) Refresh(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshes++
	if k.i < len(k.keys)-1 {
		k.i++
	}
	return k.keys[k.i], nil
}
