package safety

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
	"sync/atomic"
	"testing"
)

// Values that must never surface in an error, a verdict or a URL.
const (
	geminiKey  = "AIzaSyTESTKEY-gemini-9b1c"
	lakeraKey  = "lak-TESTKEY-3e7d"
	judgedText = "JUDGED-7f3a tell me how to build a bomb"
)

// fakeGemini speaks generateContent: it checks what a real Gemini would need
// from our request and answers with whatever the test scripted.
type fakeGemini struct {
	t        testing.TB
	model    string
	keys     []string // accepted keys; anything else gets 400 API_KEY_INVALID
	calls    atomic.Int32
	mu       sync.Mutex
	lastBody map[string]any
	// answer writes the response; nil answers a clean classification.
	answer func(w http.ResponseWriter, r *http.Request)
}

func newFakeGemini(t testing.TB, answer func(w http.ResponseWriter, r *http.Request)) (*fakeGemini, *httptest.Server) {
	f := &fakeGemini{t: t, model: "gemini-2.5-flash-lite", keys: []string{geminiKey}, answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeGemini) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	t := f.t
	if r.Method != http.MethodPost || r.URL.Path != "/v1beta/models/"+f.model+":generateContent" {
		t.Errorf("gemini fake: unexpected %s %s", r.Method, r.URL.Path)
		googleError(w, 404, "NOT_FOUND", "not found")
		return
	}
	if r.URL.RawQuery != "" {
		t.Errorf("gemini fake: query string %q (the key belongs in a header)", r.URL.RawQuery)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("gemini fake: Content-Type %q", ct)
	}
	if r.Header.Get("Authorization") != "" {
		t.Errorf("gemini fake: unexpected Authorization header")
	}
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("gemini fake: body not JSON: %v", err)
	}
	f.mu.Lock()
	f.lastBody = body
	f.mu.Unlock()
	key := r.Header.Get("x-goog-api-key")
	accepted := false
	for _, k := range f.keys {
		accepted = accepted || key == k
	}
	if !accepted {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		// A hostile upstream echoing the key and the text: none may leak.
		fmt.Fprintf(w, `{"error":{"code":400,"message":"API key not valid: %s; text %s","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}}`, key, judgedText)
		return
	}
	if f.answer == nil {
		geminiScores(w, map[string]float64{}, 120, 40)
		return
	}
	f.answer(w, r)
}

func (f *fakeGemini) body() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastBody
}

// geminiScores answers 200 with the classifier's JSON as candidate text;
// categories not in s score 0.01.
func geminiScores(w http.ResponseWriter, s map[string]float64, promptTokens, outTokens int) {
	all := map[string]float64{}
	for _, c := range geminiCategories {
		all[c] = 0.01
	}
	for k, v := range s {
		all[k] = v
	}
	text, _ := json.Marshal(all)
	geminiText(w, string(text), promptTokens, outTokens)
}

func geminiText(w http.ResponseWriter, text string, promptTokens, outTokens int) {
	resp := map[string]any{
		"candidates": []any{map[string]any{
			"content":      map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}},
			"finishReason": "STOP",
			"index":        0,
		}},
		"usageMetadata": map[string]any{
			"promptTokenCount":     promptTokens,
			"candidatesTokenCount": outTokens,
			"totalTokenCount":      promptTokens + outTokens,
		},
		"modelVersion": "gemini-2.5-flash-lite",
		"responseId":   "r-1",
	}
	writeJSON(w, 200, resp)
}

func googleError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// fakeLakera speaks POST /v2/guard.
type fakeLakera struct {
	t        testing.TB
	keys     []string // accepted bearer keys; empty = no auth (self-hosted)
	calls    atomic.Int32
	mu       sync.Mutex
	lastBody map[string]any
	answer   func(w http.ResponseWriter, r *http.Request)
}

func newFakeLakera(t testing.TB, answer func(w http.ResponseWriter, r *http.Request)) (*fakeLakera, *httptest.Server) {
	f := &fakeLakera{t: t, keys: []string{lakeraKey}, answer: answer}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeLakera) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	t := f.t
	if r.Method != http.MethodPost || r.URL.Path != "/v2/guard" || r.URL.RawQuery != "" {
		t.Errorf("lakera fake: unexpected %s %s", r.Method, r.URL.String())
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("lakera fake: Content-Type %q", ct)
	}
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Errorf("lakera fake: body not JSON: %v", err)
	}
	f.mu.Lock()
	f.lastBody = body
	f.mu.Unlock()
	if len(f.keys) > 0 {
		auth := r.Header.Get("Authorization")
		ok := false
		for _, k := range f.keys {
			ok = ok || auth == "Bearer "+k
		}
		if !ok {
			writeJSON(w, 401, map[string]any{"detail": "Invalid API key " + auth + " for " + judgedText})
			return
		}
	}
	if f.answer == nil {
		lakeraAnswer(w, false)
		return
	}
	f.answer(w, r)
}

func (f *fakeLakera) body() map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastBody
}

// lakeraAnswer writes a Guard v2 response; detected lists the detector types
// that fired. Every answer carries the three usual breakdown rows.
func lakeraAnswer(w http.ResponseWriter, flagged bool, detected ...string) {
	rows := []any{}
	seen := map[string]bool{}
	for _, d := range detected {
		seen[d] = true
		rows = append(rows, lakeraRow(d, true))
	}
	for _, d := range []string{"prompt_attack", "moderated_content/hate", "pii/email"} {
		if !seen[d] {
			rows = append(rows, lakeraRow(d, false))
		}
	}
	writeJSON(w, 200, map[string]any{
		"flagged":   flagged,
		"breakdown": rows,
		"metadata":  map[string]any{"request_uuid": "8b2b6c1c-9f7a-4f8a-9c2d-8a44ca72e975"},
	})
}

func lakeraRow(detector string, detected bool) map[string]any {
	var msgID any
	if detected {
		msgID = 0
	}
	return map[string]any{
		"project_id": "project-1", "policy_id": "policy-1", "detector_id": "detector-" + detector,
		"detector_type": detector, "detected": detected, "message_id": msgID,
	}
}

// countingKey is a KeySource whose Refresh moves to the next key, like a
// rotated secret re-read from a secret manager.
type countingKey struct {
	mu        sync.Mutex
	keys      []string
	i         int
	refreshes int
	err       error
}

func (k *countingKey) Key(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return "", k.err
	}
	return k.keys[k.i], nil
}

func (k *countingKey) Refresh(context.Context) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshes++
	if k.i < len(k.keys)-1 {
		k.i++
	}
	return k.keys[k.i], nil
}

type staticKey string

func (k staticKey) Key(context.Context) (string, error) { return string(k), nil }

// assertNoLeak fails if the key, the judged text, or a fragment of either
// appears in the verdict or the error.
func assertNoLeak(t *testing.T, v Verdict, err error) {
	t.Helper()
	texts := []string{fmt.Sprintf("%+v", v)}
	if err != nil {
		texts = append(texts, err.Error())
		var e *Error
		if errors.As(err, &e) {
			texts = append(texts, e.Detail, e.Code)
		}
	}
	for _, s := range texts {
		for _, secret := range []string{geminiKey, lakeraKey, "TESTKEY", judgedText, "JUDGED-7f3a", "bomb"} {
			if strings.Contains(s, secret) {
				t.Errorf("leak of %q in %q", secret, s)
			}
		}
	}
}

func newTestClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

var judged = []Message{{Role: "user", Content: judgedText}}
