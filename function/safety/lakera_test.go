package safety

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
)

func TestLakeraVerdicts(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(w http.ResponseWriter, r *http.Request)
		flagged bool
		cats    []string
		scores  map[string]float64
	}{
		{
			name:   "clean",
			answer: func(w http.ResponseWriter, r *http.Request) { lakeraAnswer(w, false) },
			scores: map[string]float64{"prompt_attack": 0, "moderated_content/hate": 0, "pii/email": 0},
		},
		{
			name:    "prompt attack and email",
			answer:  func(w http.ResponseWriter, r *http.Request) { lakeraAnswer(w, true, "prompt_attack", "pii/email") },
			flagged: true,
			cats:    []string{"pii/email", "prompt_attack"},
			scores:  map[string]float64{"prompt_attack": 1, "pii/email": 1, "moderated_content/hate": 0},
		},
		{
			name:   "detected but not flagged by policy",
			answer: func(w http.ResponseWriter, r *http.Request) { lakeraAnswer(w, false, "pii/email") },
			scores: map[string]float64{"prompt_attack": 0, "moderated_content/hate": 0, "pii/email": 1},
		},
		{
			name:    "flagged without breakdown",
			answer:  func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{"flagged": true}) },
			flagged: true,
			cats:    []string{CategoryLakeraPolicy},
			scores:  map[string]float64{},
		},
		{
			name: "free-form detector names are not repeated",
			answer: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, map[string]any{"flagged": true, "breakdown": []any{
					lakeraRow("moderated_content/violence", true), lakeraRow(judgedText, true),
				}})
			},
			flagged: true,
			cats:    []string{"moderated_content/violence"},
			scores:  map[string]float64{"moderated_content/violence": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newFakeLakera(t, tc.answer)
			l, err := newLakera(Config{LakeraBaseURL: srv.URL, LakeraKey: staticKey(lakeraKey)}, newTestClient(t))
			if err != nil {
				t.Fatal(err)
			}
			v, err := l.Check(context.Background(), judged)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			assertNoLeak(t, v, err)
			slices.Sort(v.Categories)
			if v.Flagged != tc.flagged || !slices.Equal(v.Categories, tc.cats) {
				t.Errorf("flagged=%v cats=%v, want %v %v", v.Flagged, v.Categories, tc.flagged, tc.cats)
			}
			if fmt.Sprint(v.Scores) != fmt.Sprint(tc.scores) {
				t.Errorf("scores = %v, want %v", v.Scores, tc.scores)
			}
			if v.CostUSD != nil {
				t.Errorf("lakera cost should be unknown (nil), got %v", *v.CostUSD)
			}
		})
	}
}

func TestLakeraFailures(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		answer func(w http.ResponseWriter, r *http.Request)
		kind   Kind
		status int
	}{
		{name: "bad key", key: "lak-WRONG-TESTKEY", kind: KindAuth, status: 401},
		{name: "forbidden", kind: KindAuth, status: 403, answer: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 403, map[string]any{"detail": "Forbidden"})
		}},
		{name: "validation", kind: KindStatus, status: 422, answer: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 422, map[string]any{"detail": []any{map[string]any{"loc": []any{"body", "messages"}, "msg": "bad " + judgedText}}})
		}},
		{name: "rate limited", kind: KindStatus, status: 429, answer: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, map[string]any{"detail": "Too many requests"})
		}},
		{name: "server error", kind: KindStatus, status: 500, answer: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
		}},
		{name: "undecodable", kind: KindMalformed, answer: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<html>"+judgedText)
		}},
		{name: "missing flagged", kind: KindMalformed, answer: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"breakdown": []any{lakeraRow("prompt_attack", true)}})
		}},
		{name: "flagged wrong type", kind: KindMalformed, answer: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, map[string]any{"flagged": "yes"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := newFakeLakera(t, tc.answer)
			key := lakeraKey
			if tc.key != "" {
				key = tc.key
			}
			l, err := newLakera(Config{LakeraBaseURL: srv.URL, LakeraKey: staticKey(key)}, newTestClient(t))
			if err != nil {
				t.Fatal(err)
			}
			v, err := l.Check(context.Background(), judged)
			assertNoLeak(t, v, err)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if e.Kind != tc.kind || e.Status != tc.status || e.Checker != "lakera" {
				t.Errorf("got kind=%s status=%d (%v), want %s %d", e.Kind, e.Status, err, tc.kind, tc.status)
			}
		})
	}
}

func TestLakeraRequest(t *testing.T) {
	for _, project := range []string{"", "project-1234567890"} {
		t.Run("project="+project, func(t *testing.T) {
			f, srv := newFakeLakera(t, nil)
			l, err := newLakera(Config{LakeraBaseURL: srv.URL, LakeraKey: staticKey(lakeraKey), LakeraProjectID: project}, newTestClient(t))
			if err != nil {
				t.Fatal(err)
			}
			msgs := []Message{{"system", "You are a support bot."}, {"assistant", "Hi"}, {"model", "again"}, {"", judgedText}}
			if _, err := l.Check(context.Background(), msgs); err != nil {
				t.Fatal(err)
			}
			b := f.body()
			if b["breakdown"] != true {
				t.Errorf("breakdown = %v, want true", b["breakdown"])
			}
			if got, ok := b["project_id"]; (project == "") == ok || (ok && got != project) {
				t.Errorf("project_id = %v (present %v), want %q", got, ok, project)
			}
			want := `[map[content:You are a support bot. role:system] map[content:Hi role:assistant] map[content:again role:assistant] map[content:` + judgedText + ` role:user]]`
			if got := fmt.Sprint(b["messages"]); got != want {
				t.Errorf("messages = %s\nwant %s", got, want)
			}
		})
	}
}

func TestLakeraSelfHostedWithoutKey(t *testing.T) {
	var sawAuth string
	f, srv := newFakeLakera(t, func(w http.ResponseWriter, r *http.Request) {
		sawAuth = r.Header.Get("Authorization")
		lakeraAnswer(w, true, "prompt_attack")
	})
	f.keys = nil
	l, err := newLakera(Config{LakeraBaseURL: srv.URL}, newTestClient(t))
	if err != nil {
		t.Fatal(err)
	}
	v, err := l.Check(context.Background(), judged)
	if err != nil || !v.Flagged {
		t.Fatalf("v=%+v err=%v", v, err)
	}
	if sawAuth != "" {
		t.Errorf("Authorization sent without a key: %q", sawAuth)
	}
}

func TestLakeraKeyRefresh(t *testing.T) {
	f, srv := newFakeLakera(t, nil)
	f.keys = []string{"lak-ROTATED"}
	ks := &countingKey{keys: []string{lakeraKey, "lak-ROTATED"}}
	l, err := newLakera(Config{LakeraBaseURL: srv.URL, LakeraKey: ks}, newTestClient(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Check(context.Background(), judged); err != nil {
		t.Fatalf("Check after rotation: %v", err)
	}
	if ks.refreshes != 1 || f.calls.Load() != 2 {
		t.Errorf("refreshes=%d calls=%d", ks.refreshes, f.calls.Load())
	}
	// A key that stays wrong is refreshed once, not in a loop.
	f.keys = []string{"lak-OTHER"}
	_, err = l.Check(context.Background(), judged)
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindAuth || ks.refreshes != 2 || f.calls.Load() != 4 {
		t.Errorf("err=%v refreshes=%d calls=%d", err, ks.refreshes, f.calls.Load())
	}
}
