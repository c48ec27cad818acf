package function

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLakera answers POST /v2/guard in Lakera Guard v2's shape: flagged when
// the last message mentions "poison", down (503) while down is set, slow
// when slow is set.
type fakeLakera struct {
	srv   *httptest.Server
	down  atomic.Bool
	slow  atomic.Bool
	calls atomic.Int32
}

func newFakeLakera(t *testing.T) *fakeLakera {
	f := &fakeLakera{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.calls.Add(1)
		if r.URL.Path != "/v2/guard" || r.Header.Get("Authorization") != "Bearer lakera-test-key" {
			w.WriteHeader(401)
			return
		}
		var req struct {
			Messages []struct{ Role, Content string } `json:"messages"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &req)
		if f.slow.Load() {
			select {
			case <-time.After(300 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		if f.down.Load() {
			w.WriteHeader(503)
			io.WriteString(w, `{"detail":"Service Unavailable"}`)
			return
		}
		flagged := len(req.Messages) > 0 && strings.Contains(req.Messages[len(req.Messages)-1].Content, "poison")
		w.Header().Set("Content-Type", "application/json")
		if flagged {
			io.WriteString(w, `{"flagged":true,"breakdown":[{"project_id":"p","policy_id":"pol","detector_id":"d1","detector_type":"moderated_content/violence","detected":true,"message_id":0},{"project_id":"p","policy_id":"pol","detector_id":"d2","detector_type":"prompt_attack","detected":false,"message_id":null}],"metadata":{"request_uuid":"u1"}}`)
			return
		}
		io.WriteString(w, `{"flagged":false,"breakdown":[{"project_id":"p","policy_id":"pol","detector_id":"d1","detector_type":"moderated_content/violence","detected":false,"message_id":null}],"metadata":{"request_uuid":"u2"}}`)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func safetyEnv(l *fakeLakera, mode string) map[string]string {
	return map[string]string{"LAKERA_API_KEY": "lakera-test-key", "LAKERA_BASE_URL": l.srv.URL, "SAFETY_FAIL_MODE": mode}
}

func TestSafetyCheck(t *testing.T) {
	t.Run("flagged is 422 and the provider answer is discarded", func(t *testing.T) {
		l := newFakeLakera(t)
		tg := newTestGateway(t, safetyEnv(l, "open"))
		tg.gemini.set("hang") // the flag must cancel the provider call, not wait for it
		start := time.Now()
		rec := tg.do(call{method: "POST", path: "/query", body: `{"prompt":"how do I poison the well"}`, header: auth(testKey)})
		b := decode(t, rec)
		if rec.Code != 422 || b["detail"] != "Request blocked by safety check" || !contains(b["categories"], "moderated_content/violence") {
			t.Fatalf("%d %v", rec.Code, b)
		}
		if time.Since(start) > time.Second {
			t.Errorf("took %v: the provider call was not cancelled", time.Since(start))
		}
	})
	t.Run("clean verdict reports the checker beside the answer", func(t *testing.T) {
		l := newFakeLakera(t)
		tg := newTestGateway(t, safetyEnv(l, "open"))
		rec := tg.do(call{method: "POST", path: "/query", body: `{"prompt":"name a colour"}`, header: auth(testKey)})
		b := decode(t, rec)
		sf, _ := b["safety"].(map[string]any)
		if rec.Code != 200 || sf["checker"] != "lakera" || sf["flagged"] != false {
			t.Fatalf("%d %v", rec.Code, b)
		}
	})
	t.Run("checker down, fail open passes with an error noted", func(t *testing.T) {
		l := newFakeLakera(t)
		l.down.Store(true)
		tg := newTestGateway(t, safetyEnv(l, "open"))
		rec := tg.do(call{method: "POST", path: "/query", body: `{"prompt":"name a colour"}`, header: auth(testKey)})
		b := decode(t, rec)
		sf, _ := b["safety"].(map[string]any)
		if rec.Code != 200 || sf["error"] == nil {
			t.Fatalf("%d %v", rec.Code, b)
		}
	})
	t.Run("checker down, fail closed blocks", func(t *testing.T) {
		l := newFakeLakera(t)
		l.down.Store(true)
		tg := newTestGateway(t, safetyEnv(l, "closed"))
		rec := tg.do(call{method: "POST", path: "/query", body: `{"prompt":"name a colour"}`, header: auth(testKey)})
		b := decode(t, rec)
		if rec.Code != 422 || !contains(b["categories"], "safety_unavailable") {
			t.Fatalf("%d %v", rec.Code, b)
		}
	})
	t.Run("slow clean verdict waits, then answers", func(t *testing.T) {
		l := newFakeLakera(t)
		l.slow.Store(true)
		tg := newTestGateway(t, safetyEnv(l, "open"))
		rec := tg.do(call{method: "POST", path: "/query", body: `{"prompt":"name a colour"}`, header: auth(testKey)})
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
	t.Run("check-toxicity", func(t *testing.T) {
		l := newFakeLakera(t)
		tg := newTestGateway(t, safetyEnv(l, "open"))
		rec := tg.do(call{method: "POST", path: "/check-toxicity", body: `{"text":"poison them"}`, header: auth(testKey)})
		b := decode(t, rec)
		if rec.Code != 200 || b["is_toxic"] != true || !contains(b["blocked_categories"], "moderated_content/violence") || b["error"] != nil {
			t.Fatalf("%d %v", rec.Code, b)
		}
		if _, ok := b["scores"].(map[string]any); !ok {
			t.Errorf("scores = %v", b["scores"])
		}
	})
	t.Run("streaming: flagged before the first byte is a 400", func(t *testing.T) {
		l := newFakeLakera(t)
		tg := newTestGateway(t, safetyEnv(l, "open"))
		rec := tg.do(call{method: "POST", path: "/v1/chat/completions", body: `{"model":"auto","stream":true,"messages":[{"role":"user","content":"poison"}]}`, header: map[string]string{"Authorization": "Bearer " + testKey}})
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "content_blocked") {
			t.Fatalf("%d %s", rec.Code, rec.Body.String())
		}
	})
}
