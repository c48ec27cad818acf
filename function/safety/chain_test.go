package safety

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseOrder(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{in: "", want: nil},
		{in: "off", want: nil},
		{in: " OFF ", want: nil},
		{in: "gemini", want: []string{"gemini"}},
		{in: "lakera", want: []string{"lakera"}},
		{in: "gemini,lakera", want: []string{"gemini", "lakera"}},
		{in: "Lakera , Gemini", want: []string{"lakera", "gemini"}},
		{in: "gemini,gemini", wantErr: true},
		{in: "gemini,", wantErr: true},
		{in: "off,gemini", wantErr: true},
		{in: "openai", wantErr: true},
	}
	for _, tc := range tests {
		got, err := ParseOrder(tc.in)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("ParseOrder(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "SAFETY_CHECK") {
			t.Errorf("ParseOrder(%q) error %q does not name SAFETY_CHECK", tc.in, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	gk, lk := staticKey(geminiKey), staticKey(lakeraKey)
	tests := []struct {
		name string
		cfg  Config
		want string // substring naming the variable
	}{
		{"threshold above 1", Config{Threshold: 1.5}, "TOXICITY_THRESHOLD"},
		{"threshold negative", Config{Threshold: -0.1}, "TOXICITY_THRESHOLD"},
		{"threshold NaN", Config{Threshold: math.NaN()}, "TOXICITY_THRESHOLD"},
		{"gemini without key", Config{Order: []string{"gemini"}}, "GEMINI_API_KEY"},
		{"lakera SaaS without key", Config{Order: []string{"lakera"}}, "LAKERA_API_KEY"},
		{"bad gemini URL", Config{Order: []string{"gemini"}, GeminiKey: gk, GeminiBaseURL: "ftp://x"}, "GEMINI_BASE_URL"},
		{"gemini URL with query", Config{Order: []string{"gemini"}, GeminiKey: gk, GeminiBaseURL: "https://x/?key=" + geminiKey}, "GEMINI_BASE_URL"},
		{"bad lakera URL", Config{Order: []string{"lakera"}, LakeraKey: lk, LakeraBaseURL: "api.lakera.ai"}, "LAKERA_BASE_URL"},
		{"bad model", Config{Order: []string{"gemini"}, GeminiKey: gk, GeminiModel: "a/b"}, "GEMINI_MODEL"},
		{"unknown checker", Config{Order: []string{"openai"}}, "SAFETY_CHECK"},
		{"duplicate", Config{Order: []string{"lakera", "lakera"}, LakeraKey: lk}, "SAFETY_CHECK"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New(tc.cfg)
			if err == nil || c != nil {
				t.Fatalf("New = %v, %v; want error", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), geminiKey) {
				t.Errorf("error %q should name %s and hold no key", err, tc.want)
			}
		})
	}
}

func TestDisabled(t *testing.T) {
	var nilChain *Chain
	off, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Chain{nilChain, off} {
		if c.Enabled() {
			t.Errorf("Enabled() = true")
		}
		v, err := c.Check(context.Background(), judged)
		if err != nil || v.Flagged || v.Err != "" || v.Checker != "" {
			t.Errorf("disabled Check = %+v, %v", v, err)
		}
	}
}

// chainFor builds a chain against the given fakes (nil URL: not in order).
func chainFor(t *testing.T, geminiURL, lakeraURL string, failClosed bool, timeout time.Duration) *Chain {
	t.Helper()
	cfg := Config{
		FailClosed: failClosed, Timeout: timeout, HTTPClient: newTestClient(t),
		GeminiBaseURL: geminiURL, GeminiKey: staticKey(geminiKey),
		LakeraBaseURL: lakeraURL, LakeraKey: staticKey(lakeraKey), LakeraProjectID: "project-1",
	}
	if geminiURL != "" {
		cfg.Order = append(cfg.Order, "gemini")
	}
	if lakeraURL != "" {
		cfg.Order = append(cfg.Order, "lakera")
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestChainFallbackAndFailModes(t *testing.T) {
	geminiOK := func(w http.ResponseWriter, r *http.Request) {
		geminiScores(w, map[string]float64{"hate": 0.9}, 100, 20)
	}
	gemini503 := func(w http.ResponseWriter, r *http.Request) { googleError(w, 503, "UNAVAILABLE", "overloaded") }
	geminiGarbage := func(w http.ResponseWriter, r *http.Request) { geminiText(w, "not json", 100, 20) }
	lakeraFlag := func(w http.ResponseWriter, r *http.Request) { lakeraAnswer(w, true, "prompt_attack") }
	lakera500 := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }
	geminiCost := (100*0.10 + 20*0.40) / 1e6

	tests := []struct {
		name               string
		gemini, lakera     func(w http.ResponseWriter, r *http.Request)
		failClosed         bool
		checker            string
		flagged            bool
		cats               []string
		errText            string
		geminiN, lakeraN   int32
		cost               float64 // 0: nil
		attemptErrPrefixes []string
	}{
		{name: "gemini decides, lakera untouched", gemini: geminiOK, lakera: lakeraFlag,
			checker: "gemini", flagged: true, cats: []string{"hate"}, geminiN: 1, lakeraN: 0, cost: geminiCost,
			attemptErrPrefixes: []string{""}},
		{name: "gemini down, lakera decides", gemini: gemini503, lakera: lakeraFlag,
			checker: "lakera", flagged: true, cats: []string{"prompt_attack"}, geminiN: 1, lakeraN: 1,
			attemptErrPrefixes: []string{"gemini: HTTP 503 UNAVAILABLE", ""}},
		{name: "gemini garbage still costs", gemini: geminiGarbage, lakera: nil,
			checker: "lakera", flagged: false, geminiN: 1, lakeraN: 1, cost: geminiCost,
			attemptErrPrefixes: []string{"gemini: malformed", ""}},
		{name: "all fail, open", gemini: gemini503, lakera: lakera500,
			checker: "", flagged: false, errText: "safety check unavailable", geminiN: 1, lakeraN: 1,
			attemptErrPrefixes: []string{"gemini: HTTP 503", "lakera: HTTP 500"}},
		{name: "all fail, closed", gemini: gemini503, lakera: lakera500, failClosed: true,
			checker: "", flagged: true, cats: []string{CategoryUnavailable}, errText: "safety check unavailable", geminiN: 1, lakeraN: 1,
			attemptErrPrefixes: []string{"gemini: HTTP 503", "lakera: HTTP 500"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gf, gs := newFakeGemini(t, tc.gemini)
			lf, ls := newFakeLakera(t, tc.lakera)
			c := chainFor(t, gs.URL, ls.URL, tc.failClosed, time.Second)
			v, err := c.Check(context.Background(), judged)
			if err != nil {
				t.Fatalf("Check error %v (fail modes answer with a verdict, not an error)", err)
			}
			assertNoLeak(t, v, err)
			if v.Checker != tc.checker || v.Flagged != tc.flagged || !slices.Equal(v.Categories, tc.cats) || v.Err != tc.errText {
				t.Errorf("verdict %+v; want checker=%q flagged=%v cats=%v err=%q", v, tc.checker, tc.flagged, tc.cats, tc.errText)
			}
			if gf.calls.Load() != tc.geminiN || lf.calls.Load() != tc.lakeraN {
				t.Errorf("calls gemini=%d lakera=%d, want %d %d", gf.calls.Load(), lf.calls.Load(), tc.geminiN, tc.lakeraN)
			}
			switch {
			case tc.cost == 0 && v.CostUSD != nil:
				t.Errorf("cost = %v, want nil", *v.CostUSD)
			case tc.cost != 0 && (v.CostUSD == nil || math.Abs(*v.CostUSD-tc.cost) > 1e-15):
				t.Errorf("cost = %v, want %v", v.CostUSD, tc.cost)
			}
			if len(v.Attempts) != len(tc.attemptErrPrefixes) {
				t.Fatalf("attempts = %+v", v.Attempts)
			}
			for i, p := range tc.attemptErrPrefixes {
				a := v.Attempts[i]
				if (p == "") != (a.Error == "") || !strings.HasPrefix(a.Error, p) {
					t.Errorf("attempt %d = %+v, want error prefix %q", i, a, p)
				}
			}
		})
	}
}

// hang blocks until the client gives up, and reports that it did.
func hang(gone chan<- struct{}) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
		select {
		case gone <- struct{}{}:
		default:
		}
	}
}

func TestChainTimeoutFallsBack(t *testing.T) {
	gone := make(chan struct{}, 1)
	_, gs := newFakeGemini(t, hang(gone))
	_, ls := newFakeLakera(t, func(w http.ResponseWriter, r *http.Request) { lakeraAnswer(w, false) })
	c := chainFor(t, gs.URL, ls.URL, true, 100*time.Millisecond)
	start := time.Now()
	v, err := c.Check(context.Background(), judged)
	if err != nil || v.Checker != "lakera" || v.Flagged {
		t.Fatalf("v=%+v err=%v", v, err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v with a 100ms per-checker timeout", el)
	}
	if len(v.Attempts) != 2 || v.Attempts[0].Error != "gemini: timeout" {
		t.Errorf("attempts = %+v", v.Attempts)
	}
	if v.LatencyMS < 100 {
		t.Errorf("LatencyMS = %d, want at least the 100ms timeout", v.LatencyMS)
	}
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Error("the timed-out upstream request was never cancelled")
	}
}

func TestChainNetworkErrorFallsBack(t *testing.T) {
	_, gs := newFakeGemini(t, nil)
	dead := gs.URL
	gs.Close()
	_, ls := newFakeLakera(t, nil)
	c := chainFor(t, dead, ls.URL, false, time.Second)
	v, err := c.Check(context.Background(), judged)
	if err != nil || v.Checker != "lakera" || len(v.Attempts) != 2 || v.Attempts[0].Error != "gemini: network" {
		t.Fatalf("v=%+v err=%v", v, err)
	}
}

// TestChainCancel: when the caller no longer needs the verdict (the provider
// answered, or the client left), Check returns at once, in either fail mode,
// and the upstream request is cancelled.
func TestChainCancel(t *testing.T) {
	for _, failClosed := range []bool{false, true} {
		gone := make(chan struct{}, 1)
		gf, gs := newFakeGemini(t, hang(gone))
		lf, ls := newFakeLakera(t, nil)
		c := chainFor(t, gs.URL, ls.URL, failClosed, 10*time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		v, err := c.Check(ctx, judged)
		el := time.Since(start)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("failClosed=%v: err = %v, want context.Canceled", failClosed, err)
		}
		if el > time.Second {
			t.Errorf("failClosed=%v: returned after %v", failClosed, el)
		}
		if v.Flagged || v.Checker != "" || lf.calls.Load() != 0 || gf.calls.Load() != 1 {
			t.Errorf("failClosed=%v: v=%+v lakera calls=%d", failClosed, v, lf.calls.Load())
		}
		select {
		case <-gone:
		case <-time.After(2 * time.Second):
			t.Error("upstream request not cancelled")
		}
		cancel()
	}
}

// TestChainCancelLastChecker: a caller cancellation during the last checker
// is the caller's error, never a fail-closed "unavailable" block.
func TestChainCancelLastChecker(t *testing.T) {
	_, gs := newFakeGemini(t, hang(make(chan struct{}, 1)))
	c := chainFor(t, gs.URL, "", true, 10*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	v, err := c.Check(ctx, judged)
	if !errors.Is(err, context.Canceled) || v.Flagged || v.Err != "" {
		t.Errorf("v=%+v err=%v, want the caller's cancellation", v, err)
	}
	if len(v.Attempts) != 1 || v.Attempts[0].Error != "canceled" {
		t.Errorf("attempts = %+v", v.Attempts)
	}
}

func TestChainAlreadyCancelled(t *testing.T) {
	gf, gs := newFakeGemini(t, nil)
	c := chainFor(t, gs.URL, "", false, time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Check(ctx, judged); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if gf.calls.Load() != 0 {
		t.Errorf("called upstream with a dead context")
	}
}

func TestChainCallerDeadline(t *testing.T) {
	_, gs := newFakeGemini(t, hang(make(chan struct{}, 1)))
	_, ls := newFakeLakera(t, nil)
	c := chainFor(t, gs.URL, ls.URL, true, 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Check(ctx, judged)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the caller's DeadlineExceeded", err)
	}
}

func TestChainKeySourceFailure(t *testing.T) {
	gf, gs := newFakeGemini(t, nil)
	_, ls := newFakeLakera(t, nil)
	ks := &countingKey{keys: []string{geminiKey}, err: errors.New("sm://projects/p/secrets/gemini: permission denied")}
	c, err := New(Config{Order: []string{"gemini", "lakera"}, GeminiBaseURL: gs.URL, GeminiKey: ks,
		LakeraBaseURL: ls.URL, LakeraKey: staticKey(lakeraKey), HTTPClient: newTestClient(t)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Check(context.Background(), judged)
	if err != nil || v.Checker != "lakera" || gf.calls.Load() != 0 {
		t.Fatalf("v=%+v err=%v gemini calls=%d", v, err, gf.calls.Load())
	}
	if v.Attempts[0].Error != "gemini: key: key unavailable" {
		t.Errorf("attempt = %+v", v.Attempts[0])
	}
}

func TestChainEmptyInputSkipsCalls(t *testing.T) {
	gf, gs := newFakeGemini(t, nil)
	c := chainFor(t, gs.URL, "", true, time.Second)
	for _, msgs := range [][]Message{nil, {{Role: "user", Content: "  \n"}}} {
		v, err := c.Check(context.Background(), msgs)
		if err != nil || v.Flagged {
			t.Errorf("Check(%q) = %+v, %v", msgs, v, err)
		}
	}
	if gf.calls.Load() != 0 {
		t.Errorf("called upstream for empty input")
	}
}

// fixedChecker is a local Checker for NewChain.
type fixedChecker struct {
	name string
	v    Verdict
	err  error
}

func (f fixedChecker) Name() string { return f.name }
func (f fixedChecker) Check(context.Context, []Message) (Verdict, error) {
	return f.v, f.err
}

func TestNewChainCustomChecker(t *testing.T) {
	c := NewChain(false, 0,
		fixedChecker{name: "broken", err: errors.New("leaky " + judgedText)},
		fixedChecker{name: "local", v: Verdict{Flagged: true, Categories: []string{"b", "a", "b"}}},
	)
	v, err := c.Check(context.Background(), judged)
	assertNoLeak(t, v, err)
	if err != nil || v.Checker != "local" || !slices.Equal(v.Categories, []string{"a", "b"}) {
		t.Errorf("v=%+v err=%v", v, err)
	}
	if v.Attempts[0].Error != "broken: failed" {
		t.Errorf("third-party error text passed through: %+v", v.Attempts[0])
	}

	// The chain keeps "Categories non-empty exactly when Flagged" whatever a
	// custom checker returns.
	for _, tc := range []struct {
		in   Verdict
		want []string
	}{
		{Verdict{Flagged: false, Categories: []string{"x"}}, nil},
		{Verdict{Flagged: true}, []string{"flagged"}},
	} {
		v, _ := NewChain(false, 0, fixedChecker{name: "local", v: tc.in}).Check(context.Background(), judged)
		if !slices.Equal(v.Categories, tc.want) {
			t.Errorf("%+v -> categories %v, want %v", tc.in, v.Categories, tc.want)
		}
	}
}

// TestChainConcurrent: one Chain serves every request of an instance.
func TestChainConcurrent(t *testing.T) {
	gf, gs := newFakeGemini(t, func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength%2 == 0 {
			googleError(w, 503, "UNAVAILABLE", "overloaded")
			return
		}
		geminiScores(w, nil, 10, 10)
	})
	lf, ls := newFakeLakera(t, nil)
	c := chainFor(t, gs.URL, ls.URL, true, time.Second)
	errs := make(chan error, 20)
	for i := range 20 {
		go func() {
			msgs := []Message{{Role: "user", Content: strings.Repeat("a", i+1)}}
			v, err := c.Check(context.Background(), msgs)
			if err == nil && (v.Checker == "" || v.Flagged) {
				err = errors.New("unexpected verdict " + v.Checker)
			}
			errs <- err
		}()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if n := gf.calls.Load(); n != 20 || lf.calls.Load() == 0 || lf.calls.Load() == 20 {
		t.Errorf("gemini calls %d, lakera calls %d: want all on gemini and some fallbacks", n, lf.calls.Load())
	}
}
