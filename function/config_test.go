package function

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llm-secure-gateway/gateway/function/secrets"
)

func TestLoadConfigErrors(t *testing.T) {
	base := map[string]string{"SERVICE_API_KEY": "k", "GROQ_API_KEY": "gsk_x"}
	tests := []struct {
		name    string
		set     map[string]string
		unset   []string
		wantErr string // substring; "" means success
	}{
		{name: "minimal ok", set: nil},
		{name: "no provider key", unset: []string{"GROQ_API_KEY"}, wantErr: "ERROR: No LLM provider API key configured!"},
		{name: "no service key", unset: []string{"SERVICE_API_KEY"}, wantErr: "SERVICE_API_KEY"},
		{name: "service key of commas", set: map[string]string{"SERVICE_API_KEY": " , ,"}, wantErr: "SERVICE_API_KEY"},
		{name: "bad rate limit", set: map[string]string{"RATE_LIMIT": "lots"}, wantErr: "RATE_LIMIT"},
		{name: "bad auth failure limit", set: map[string]string{"AUTH_FAILURE_LIMIT": "3/fortnight"}, wantErr: "AUTH_FAILURE_LIMIT"},
		{name: "bad url", set: map[string]string{"GROQ_BASE_URL": "ftp://x"}, wantErr: "GROQ_BASE_URL"},
		{name: "url with credentials", set: map[string]string{"GEMINI_BASE_URL": "https://u:p@x"}, wantErr: "GEMINI_BASE_URL"},
		{name: "bad threshold", set: map[string]string{"TOXICITY_THRESHOLD": "1.5"}, wantErr: "TOXICITY_THRESHOLD"},
		{name: "bad threshold text", set: map[string]string{"TOXICITY_THRESHOLD": "high"}, wantErr: "TOXICITY_THRESHOLD"},
		{name: "bad timeout", set: map[string]string{"PROVIDER_TIMEOUT": "soon"}, wantErr: "PROVIDER_TIMEOUT"},
		{name: "bad pii action", set: map[string]string{"PII_ACTION": "shred"}, wantErr: "PII_ACTION"},
		{name: "bad bool", set: map[string]string{"ENABLE_PROMPT_INJECTION_CHECK": "maybe"}, wantErr: "ENABLE_PROMPT_INJECTION_CHECK"},
		{name: "unknown provider in order", set: map[string]string{"PROVIDER_ORDER": "groq,bard"}, wantErr: "PROVIDER_ORDER"},
		{name: "safety needs its key", set: map[string]string{"SAFETY_CHECK": "lakera"}, wantErr: "LAKERA_API_KEY"},
		{name: "bad safety mode", set: map[string]string{"SAFETY_FAIL_MODE": "ajar"}, wantErr: "SAFETY_FAIL_MODE"},
		{name: "bad rate limit by", set: map[string]string{"RATE_LIMIT_BY": "moon"}, wantErr: "RATE_LIMIT_BY"},
		{name: "bad hops", set: map[string]string{"TRUSTED_PROXY_HOPS": "-1"}, wantErr: "TRUSTED_PROXY_HOPS"},
		{name: "custom provider needs url and model", set: map[string]string{"CUSTOM_PROVIDERS": "ollama"}, wantErr: "OLLAMA_BASE_URL"},
		{name: "custom provider name", set: map[string]string{"CUSTOM_PROVIDERS": "my llm!"}, wantErr: "CUSTOM_PROVIDERS"},
		{name: "custom provider shadowing a built-in", set: map[string]string{"CUSTOM_PROVIDERS": "groq"}, wantErr: "CUSTOM_PROVIDERS"},
		{name: "custom provider price", set: map[string]string{"CUSTOM_PROVIDERS": "x", "X_BASE_URL": "http://127.0.0.1:1/v1", "X_MODEL": "m", "X_PRICE_INPUT": "cheap"}, wantErr: "X_PRICE_INPUT"},
		{name: "bad stream idle timeout", set: map[string]string{"STREAM_IDLE_TIMEOUT": "0"}, wantErr: "STREAM_IDLE_TIMEOUT"},
		{name: "bad retry max", set: map[string]string{"RETRY_MAX": "many"}, wantErr: "RETRY_MAX"},
		{name: "bad cooldown", set: map[string]string{"COOLDOWN_AFTER": "-3"}, wantErr: "COOLDOWN_AFTER"},
		{name: "bad hedge", set: map[string]string{"HEDGE_AFTER": "soonish"}, wantErr: "HEDGE_AFTER"},
		{name: "hedge off", set: map[string]string{"HEDGE_AFTER": "0", "COOLDOWN_AFTER": "0", "RETRY_MAX": "2"}},
		{name: "reference without backend names the variable", set: map[string]string{"GROQ_API_KEY": "sm://groq-key"}, wantErr: "GROQ_API_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range base {
				m[k] = v
			}
			for k, v := range tt.set {
				m[k] = v
			}
			for _, k := range tt.unset {
				delete(m, k)
			}
			_, err := LoadConfig(context.Background(), env(m), LoadOptions{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := LoadConfig(context.Background(), env(map[string]string{"SERVICE_API_KEY": "a, b", "GEMINI_API_KEY": "g", "OPENROUTER_API_KEY": "o"}), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.ServiceKeys) != 2 || cfg.ServiceKeys[1] != "b" {
		t.Errorf("service keys = %v", cfg.ServiceKeys)
	}
	if cfg.RateLimit.String() != "10 per 1 minute" || cfg.RateLimitBy != "key" || cfg.AuthFailureLimit.Count != 20 {
		t.Errorf("limits = %v %v %v", cfg.RateLimit, cfg.RateLimitBy, cfg.AuthFailureLimit)
	}
	if cfg.ProviderTimeout != 20*time.Second || cfg.RequestTimeout != 60*time.Second {
		t.Errorf("timeouts = %v %v", cfg.ProviderTimeout, cfg.RequestTimeout)
	}
	var active []string
	for _, p := range cfg.ActiveProviders() {
		active = append(active, p.Name+"="+p.Model)
	}
	if strings.Join(active, ",") != "gemini=gemini-2.5-flash-lite,openrouter="+cfg.Providers[2].Model {
		t.Errorf("active = %v", active)
	}
	if cfg.Guard.PIIAction != "block" || !cfg.Guard.Injection || len(cfg.Safety.Order) != 0 {
		t.Errorf("guard/safety defaults = %+v %+v", cfg.Guard, cfg.Safety.Order)
	}
}

func TestDemoConfig(t *testing.T) {
	cfg, err := LoadConfig(context.Background(), env(map[string]string{"SERVICE_API_KEY": "k"}), LoadOptions{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := cfg.ActiveProviders(); len(a) != 1 || a[0].Name != "demo" {
		t.Errorf("demo providers = %+v", a)
	}
}

type mapBackend map[string]string

func (m mapBackend) Fetch(_ context.Context, ref secrets.Ref) (string, error) {
	v, ok := m[ref.Name]
	if !ok {
		return "", errors.New("not found")
	}
	return v, nil
}

func TestSecretReferencesResolveAtLoad(t *testing.T) {
	be := mapBackend{"svc": `{"key":"from-secret"}`, "groq": "gsk_resolved"}
	cfg, err := LoadConfig(context.Background(), env(map[string]string{
		"SERVICE_API_KEY": "sm://svc#key", "GROQ_API_KEY": "awssm://groq",
	}), LoadOptions{Backends: map[string]secrets.Backend{"sm": be, "awssm": be}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServiceKeys[0] != "from-secret" {
		t.Errorf("service key = %q", cfg.ServiceKeys[0])
	}
	if v, _ := cfg.Secrets.Get(context.Background(), "GROQ_API_KEY"); v != "gsk_resolved" {
		t.Errorf("groq key = %q", v)
	}
	_, err = LoadConfig(context.Background(), env(map[string]string{
		"SERVICE_API_KEY": "k", "GROQ_API_KEY": "awssm://missing",
	}), LoadOptions{Backends: map[string]secrets.Backend{"awssm": be}})
	if err == nil || !strings.Contains(err.Error(), "GROQ_API_KEY") {
		t.Errorf("unresolvable reference error = %v", err)
	}
}
