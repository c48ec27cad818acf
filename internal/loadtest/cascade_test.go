package loadtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/llm-secure-gateway/gateway/providers"
)

// TestCascadeResilienceUnderFaults runs the cascade itself with every
// resilience feature on (retries, cool-downs, hedging) against the fault
// mix, many calls at once, under the race detector in CI: each call ends
// with the mock's answer or a documented cascade error, within its
// deadline, and nothing is left running.
func TestCascadeResilienceUnderFaults(t *testing.T) {
	n, c := 2000, 64
	if testing.Short() || raceEnabled {
		n, c = 600, 32
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ups := []*Upstream{NewUpstream(FaultMix), NewUpstream(FaultMix), NewUpstream(FaultMix)}
	defer func() {
		for _, u := range ups {
			u.Close()
		}
	}()
	client := providers.NewHTTPClient()
	defer client.CloseIdleConnections()
	key := providers.StaticKey("k-LOADTEST")
	ps := []providers.Provider{
		providers.NewGemini(providers.GeminiConfig{BaseURL: ups[0].URL, Key: key, HTTPClient: client}),
		providers.NewGroq(providers.OpenAIConfig{BaseURL: ups[1].URL, Key: key, HTTPClient: client}),
		providers.NewOpenRouter(providers.OpenAIConfig{BaseURL: ups[2].URL, Key: key, HTTPClient: client}),
	}
	const deadline = 800 * time.Millisecond
	tests := []struct {
		name string
		cfg  providers.CascadeConfig
	}{
		{"plain cascade (baseline)", providers.CascadeConfig{CooldownAfter: -1}},
		{"defaults (cool-downs only)", providers.CascadeConfig{}},
		{"retries and cool-downs", providers.CascadeConfig{RetryMax: 2, RetryBackoff: 10 * time.Millisecond, CooldownAfter: 4, CooldownBase: 100 * time.Millisecond}},
		{"hedging", providers.CascadeConfig{HedgeAfter: 80 * time.Millisecond, CooldownAfter: 4, CooldownBase: 100 * time.Millisecond}},
		{"everything", providers.CascadeConfig{RetryMax: 1, RetryBackoff: 10 * time.Millisecond, HedgeAfter: 120 * time.Millisecond, CooldownAfter: 6, CooldownBase: 50 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Providers, cfg.AttemptTimeout = ps, 300*time.Millisecond
			cascade := providers.NewCascade(cfg)
			req := providers.Request{Messages: []providers.Message{{Role: "user", Content: Prompt}}, MaxTokens: 64}
			var mu sync.Mutex
			outcomes := map[string]int{}
			var problems []string
			var slowest time.Duration
			jobs := make(chan struct{})
			var wg sync.WaitGroup
			for range c {
				wg.Go(func() {
					for range jobs {
						ctx, cancel := context.WithTimeout(t.Context(), deadline)
						start := time.Now()
						res, err := cascade.Complete(ctx, req)
						took := time.Since(start)
						cancel()
						outcome, problem := judge(res, err)
						if took > deadline+handlerSlack {
							problem = fmt.Sprintf("returned %v after a %v deadline", took, deadline)
						}
						mu.Lock()
						outcomes[outcome]++
						slowest = max(slowest, took)
						if problem != "" && len(problems) < 5 {
							problems = append(problems, problem)
						}
						if problem != "" {
							outcomes["PROBLEM"]++
						}
						mu.Unlock()
					}
				})
			}
			for range n {
				jobs <- struct{}{}
			}
			close(jobs)
			wg.Wait()
			t.Logf("%d calls, %d at a time: %v; slowest %v; health %+v", n, c, sortedMap(outcomes), slowest.Round(time.Millisecond), cascade.Health())
			for _, p := range problems {
				t.Error(p)
			}
			if outcomes["answer"] < n/3 {
				t.Errorf("only %d of %d calls answered", outcomes["answer"], n)
			}
		})
	}
	for wait := time.Now(); time.Since(wait) < 2*time.Second; time.Sleep(10 * time.Millisecond) {
		if ups[0].Active()+ups[1].Active()+ups[2].Active() == 0 {
			return
		}
	}
	t.Error("upstream calls still running after every cascade returned")
}

// judge names a cascade outcome, and says what is wrong with it if anything.
func judge(res *providers.Result, err error) (string, string) {
	if err == nil {
		// With hedging the winner need not be the last step, but it is the
		// only success.
		wins := 0
		for _, s := range res.Steps {
			if s.Status == providers.StepSuccess {
				wins++
				if s.Provider != res.Provider {
					wins = -1
				}
			}
		}
		if res.Response == nil || res.Response.Text != Answer || wins != 1 {
			return "bad answer", fmt.Sprintf("bad answer %+v, steps %+v", res, res.Steps)
		}
		return "answer", ""
	}
	ce, ok := errors.AsType[*providers.CascadeError](err)
	if !ok {
		return "foreign error", fmt.Sprintf("not a *CascadeError: %v", err)
	}
	if len(ce.Steps) == 0 {
		return "no steps", "a failure without steps"
	}
	for _, s := range ce.Steps {
		switch s.Status {
		case providers.StepFailed, providers.StepTimeout, providers.StepSkipped:
		default:
			return "bad step", fmt.Sprintf("failed call with a %q step", s.Status)
		}
	}
	switch {
	case errors.Is(err, providers.ErrDeadline):
		return "deadline", ""
	case errors.Is(err, providers.ErrAllFailed):
		return "all failed", ""
	}
	return "other error", fmt.Sprintf("undocumented cascade error %v", err)
}
