package function

import (
	"github.com/llm-secure-gateway/gateway/providers"

	"crypto/rand"
	"encoding/hex"
	"slices"
	"strconv"
	"sync"
	"time"
)

// metrics are this instance's counters since it started. Serverless
// platforms run many instances; /metrics says which one answered.
type metrics struct {
	instanceID string
	started    time.Time

	mu              sync.Mutex
	requests        int64
	byRoute         map[string]int64
	byStatus        map[string]int64
	blocked         int64
	rateLimited     int64
	authFailures    int64
	providerResults map[string]*providerCount
	promptTokens    int64
	completionToks  int64
	costUSD         float64
	latencies       [1024]float64 // ring of recent request latencies (ms)
	latN            int
}

type providerCount struct {
	Success int64 `json:"success"`
	Failure int64 `json:"failure"`
	Timeout int64 `json:"timeout"`
	Skipped int64 `json:"skipped"`
}

func newMetrics() *metrics {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &metrics{
		instanceID:      hex.EncodeToString(b[:]),
		started:         time.Now(),
		byRoute:         map[string]int64{},
		byStatus:        map[string]int64{},
		providerResults: map[string]*providerCount{},
	}
}

func (m *metrics) record(s *reqState, status int, latency time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests++
	m.byRoute[s.route]++
	m.byStatus[strconv.Itoa(status)]++
	if s.guardBlocked || s.safetyFlagged {
		m.blocked++
	}
	if s.rateLimited {
		m.rateLimited++
	}
	if s.authFailed {
		m.authFailures++
	}
	for _, st := range s.steps {
		pc := m.providerResults[st.Provider]
		if pc == nil {
			pc = &providerCount{}
			m.providerResults[st.Provider] = pc
		}
		switch st.Status {
		case "success":
			pc.Success++
		case "timeout":
			pc.Timeout++
		case "skipped":
			pc.Skipped++
		default:
			pc.Failure++
		}
	}
	if s.usage != nil {
		m.promptTokens += int64(s.usage.PromptTokens)
		m.completionToks += int64(s.usage.CompletionTokens)
	}
	if s.costUSD != nil {
		m.costUSD += *s.costUSD
	}
	m.latencies[m.latN%len(m.latencies)] = float64(latency.Microseconds()) / 1000
	m.latN++
}

type metricsSnapshot struct {
	InstanceID       string                     `json:"instance_id"`
	StartedAt        string                     `json:"started_at"`
	UptimeSeconds    float64                    `json:"uptime_seconds"`
	Scope            string                     `json:"scope"`
	RequestsTotal    int64                      `json:"requests_total"`
	RequestsByRoute  map[string]int64           `json:"requests_by_route"`
	ResponsesByCode  map[string]int64           `json:"responses_by_status"`
	BlockedTotal     int64                      `json:"blocked_total"`
	RateLimitedTotal int64                      `json:"rate_limited_total"`
	AuthFailures     int64                      `json:"auth_failures_total"`
	ProviderRequests map[string]providerCount   `json:"provider_requests"`
	Tokens           map[string]int64           `json:"tokens"`
	CostUSDTotal     float64                    `json:"cost_usd_total"`
	LatencyMS        map[string]float64         `json:"latency_ms"`
	ProviderHealth   []providers.ProviderHealth `json:"provider_health"`
}

func (m *metrics) snapshot() metricsSnapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := metricsSnapshot{
		InstanceID:       m.instanceID,
		StartedAt:        m.started.UTC().Format(time.RFC3339),
		UptimeSeconds:    float64(time.Since(m.started).Milliseconds()) / 1000,
		Scope:            "instance: counters cover only the instance that answered, since it started",
		RequestsTotal:    m.requests,
		RequestsByRoute:  cloneCounts(m.byRoute),
		ResponsesByCode:  cloneCounts(m.byStatus),
		BlockedTotal:     m.blocked,
		RateLimitedTotal: m.rateLimited,
		AuthFailures:     m.authFailures,
		ProviderRequests: map[string]providerCount{},
		Tokens:           map[string]int64{"prompt": m.promptTokens, "completion": m.completionToks},
		CostUSDTotal:     m.costUSD,
		LatencyMS:        map[string]float64{"p50": 0, "p95": 0, "p99": 0},
	}
	for k, v := range m.providerResults {
		s.ProviderRequests[k] = *v
	}
	n := min(m.latN, len(m.latencies))
	if n > 0 {
		l := slices.Clone(m.latencies[:n])
		slices.Sort(l)
		pct := func(p float64) float64 { return l[min(n-1, int(p*float64(n)))] }
		s.LatencyMS = map[string]float64{"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99)}
	}
	return s
}

func cloneCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
