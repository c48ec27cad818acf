package function

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llm-secure-gateway/gateway/function/guard"
	"github.com/llm-secure-gateway/gateway/function/ratelimit"
	"github.com/llm-secure-gateway/gateway/function/safety"
	"github.com/llm-secure-gateway/gateway/function/secrets"
	"github.com/llm-secure-gateway/gateway/providers"
)

// ErrNoProvider is the start-up error when no provider key is configured.
//
//lint:ignore ST1005 the exact start-up line SPEC.md prescribes
var ErrNoProvider = errors.New("ERROR: No LLM provider API key configured!")

// ProviderConfig is one configured upstream, active when its key is set.
type ProviderConfig struct {
	Name    string
	BaseURL string
	Model   string
	KeyVar  string // environment variable holding the key (or its reference)
	Active  bool
	Custom  bool // an OpenAI-compatible endpoint added by CUSTOM_PROVIDERS
}

// Config is the validated configuration of one instance.
type Config struct {
	Demo bool

	ServiceKeys []string
	Providers   []ProviderConfig // in PROVIDER_ORDER; inactive ones included for /providers
	Order       []string

	ProviderTimeout   time.Duration
	RequestTimeout    time.Duration
	StreamIdleTimeout time.Duration

	// Resilience of the cascade (providers.CascadeConfig).
	RetryMax      int
	RetryBackoff  time.Duration
	CooldownAfter int // -1: cool-downs off
	CooldownBase  time.Duration
	CooldownMax   time.Duration
	HedgeAfter    time.Duration // 0: off

	RateLimit        ratelimit.Spec
	RateLimitBy      string // "key" or "ip"
	AuthFailureLimit ratelimit.Spec
	TrustedProxyHops int

	Guard      guard.Config
	PIIRestore bool

	Safety safety.Config

	LogPrompts      bool
	GoogleProject   string
	OpenRouterTitle string
	OpenRouterRef   string

	Secrets *secrets.Set
	Pricing providers.Pricing
}

// LoadOptions are the parts of start-up that are not environment variables.
type LoadOptions struct {
	Demo     bool                       // cmd/gateway -demo: a built-in provider when no key is set
	Backends map[string]secrets.Backend // secret backends by scheme ("sm", "awssm")
}

// builtinProviders are the providers the gateway knows by name, in the
// default cascade order. Each is configured by NAME_API_KEY, NAME_MODEL and
// NAME_BASE_URL, and is active when its key is set.
var builtinProviders = []struct{ name, baseURL, model string }{
	{"gemini", "https://generativelanguage.googleapis.com", providers.DefaultGeminiModel},
	{"groq", "https://api.groq.com/openai/v1", providers.DefaultGroqModel},
	{"openrouter", "https://openrouter.ai/api/v1", providers.DefaultOpenRouterModel},
	{"openai", "https://api.openai.com/v1", providers.DefaultOpenAIModel},
	{"anthropic", "https://api.anthropic.com", providers.DefaultAnthropicModel},
}

// defaultOrder keeps the original service's cascade; openai and anthropic
// join it only when PROVIDER_ORDER names them or their key is set.
const defaultOrder = "gemini,groq,openrouter,openai,anthropic"

// LoadConfig reads and validates configuration. Every error is one line that
// names the variable and never its value.
func LoadConfig(ctx context.Context, getenv func(string) string, opts LoadOptions) (*Config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	cfg := &Config{Demo: opts.Demo, Pricing: providers.DefaultPricing()}

	ttl, err := parseDuration(env("SECRET_CACHE_TTL", "10m"))
	if err != nil {
		return nil, fmt.Errorf("SECRET_CACHE_TTL: %w", err)
	}
	// Custom OpenAI-compatible providers: a name, base URL, model, optional
	// key and price, and no code.
	custom := splitList(strings.ToLower(env("CUSTOM_PROVIDERS", "")))
	var provs []ProviderConfig
	for _, bp := range builtinProviders {
		up := strings.ToUpper(bp.name)
		provs = append(provs, ProviderConfig{Name: bp.name, KeyVar: up + "_API_KEY",
			BaseURL: env(up+"_BASE_URL", bp.baseURL), Model: env(up+"_MODEL", bp.model)})
	}
	for _, name := range custom {
		if !validProviderName(name) || slices.ContainsFunc(provs, func(p ProviderConfig) bool { return p.Name == name }) {
			fail("CUSTOM_PROVIDERS: %q is not a usable name (lower-case letters, digits, '-' or '_'; not a built-in provider)", name)
			continue
		}
		up := envName(name)
		pc := ProviderConfig{Name: name, KeyVar: up + "_API_KEY", BaseURL: env(up+"_BASE_URL", ""), Model: env(up+"_MODEL", ""), Custom: true}
		if pc.BaseURL == "" || pc.Model == "" {
			fail("%s_BASE_URL and %s_MODEL: both are required for custom provider %q", up, up, name)
		}
		if in, out := env(up+"_PRICE_INPUT", ""), env(up+"_PRICE_OUTPUT", ""); in != "" || out != "" {
			pi, err1 := strconv.ParseFloat(in, 64)
			po, err2 := strconv.ParseFloat(out, 64)
			if err1 != nil || err2 != nil || pi < 0 || po < 0 {
				fail("%s_PRICE_INPUT and %s_PRICE_OUTPUT: want two non-negative numbers (USD per million tokens)", up, up)
			} else {
				cfg.Pricing[providers.Key(name, pc.Model)] = providers.Price{InputPerMTok: pi, OutputPerMTok: po}
			}
		}
		provs = append(provs, pc)
	}

	raw := map[string]string{}
	for _, name := range []string{"SERVICE_API_KEY", "LAKERA_API_KEY"} {
		if v := env(name, ""); v != "" {
			raw[name] = v
		}
	}
	for _, p := range provs {
		if v := env(p.KeyVar, ""); v != "" {
			raw[p.KeyVar] = v
		}
	}
	cfg.Secrets = secrets.NewSet(opts.Backends, ttl)
	if err := cfg.Secrets.Load(ctx, raw); err != nil {
		return nil, err
	}

	byName := map[string]*ProviderConfig{}
	for i := range provs {
		p := &provs[i]
		// A custom provider (a local Ollama, say) may need no key at all.
		p.Active = raw[p.KeyVar] != "" || (p.Custom && p.BaseURL != "" && p.Model != "")
		byName[p.Name] = p
		if p.BaseURL != "" {
			if err := checkURL(p.BaseURL); err != nil {
				fail("%s_BASE_URL: %v", envName(p.Name), err)
			}
		}
	}
	order := env("PROVIDER_ORDER", defaultOrder+","+strings.Join(custom, ","))
	for _, name := range splitList(strings.ToLower(order)) {
		if byName[name] == nil {
			fail("PROVIDER_ORDER: unknown provider %q (known: %s)", name, strings.Join(slices.Collect(maps.Keys(byName)), ", "))
			continue
		}
		if !slices.Contains(cfg.Order, name) {
			cfg.Order = append(cfg.Order, name)
		}
	}
	// Providers left out of PROVIDER_ORDER are listed but never called.
	for _, name := range cfg.Order {
		cfg.Providers = append(cfg.Providers, *byName[name])
	}
	for _, p := range provs {
		if !slices.Contains(cfg.Order, p.Name) {
			p.Active = false
			cfg.Providers = append(cfg.Providers, p)
		}
	}
	cfg.Order = slices.DeleteFunc(cfg.Order, func(n string) bool { return !byName[n].Active })
	if len(cfg.Order) == 0 && !opts.Demo {
		return nil, ErrNoProvider
	}
	if len(cfg.Order) == 0 {
		cfg.Order = []string{"demo"}
		cfg.Providers = append([]ProviderConfig{{Name: "demo", Model: providers.DemoModel, Active: true}}, cfg.Providers...)
	}

	if raw["SERVICE_API_KEY"] == "" {
		return nil, errors.New("ERROR: SERVICE_API_KEY is not set: clients authenticate with it (one key or several, comma-separated)")
	}
	sk, _ := cfg.Secrets.Get(ctx, "SERVICE_API_KEY")
	cfg.ServiceKeys = splitList(sk)
	if len(cfg.ServiceKeys) == 0 {
		fail("SERVICE_API_KEY: holds no key")
	}

	if cfg.ProviderTimeout, err = parseDuration(env("PROVIDER_TIMEOUT", "20s")); err != nil {
		fail("PROVIDER_TIMEOUT: %v", err)
	}
	if cfg.RequestTimeout, err = parseDuration(env("REQUEST_TIMEOUT", "60s")); err != nil {
		fail("REQUEST_TIMEOUT: %v", err)
	}
	if cfg.StreamIdleTimeout, err = parseDuration(env("STREAM_IDLE_TIMEOUT", "30s")); err != nil {
		fail("STREAM_IDLE_TIMEOUT: %v", err)
	}
	if cfg.RetryMax, err = strconv.Atoi(env("RETRY_MAX", "0")); err != nil || cfg.RetryMax < 0 || cfg.RetryMax > 5 {
		fail("RETRY_MAX: want an integer 0..5")
	}
	if cfg.RetryBackoff, err = parseDuration(env("RETRY_BACKOFF", "250ms")); err != nil {
		fail("RETRY_BACKOFF: %v", err)
	}
	if cfg.CooldownAfter, err = strconv.Atoi(env("COOLDOWN_AFTER", "5")); err != nil || cfg.CooldownAfter < 0 || cfg.CooldownAfter > 1000 {
		fail("COOLDOWN_AFTER: want an integer 0..1000 (0 turns cool-downs off)")
	} else if cfg.CooldownAfter == 0 {
		cfg.CooldownAfter = -1
	}
	if cfg.CooldownBase, err = parseDuration(env("COOLDOWN_BASE", "5s")); err != nil {
		fail("COOLDOWN_BASE: %v", err)
	}
	if cfg.CooldownMax, err = parseDuration(env("COOLDOWN_MAX", "2m")); err != nil {
		fail("COOLDOWN_MAX: %v", err)
	}
	if h := env("HEDGE_AFTER", "0"); h != "0" && h != "off" {
		if cfg.HedgeAfter, err = parseDuration(h); err != nil {
			fail("HEDGE_AFTER: %v (or 0 to turn hedging off)", err)
		}
	}
	if cfg.RateLimit, err = ratelimit.ParseSpec(env("RATE_LIMIT", "10/minute")); err != nil {
		fail("RATE_LIMIT: %v", err)
	}
	if cfg.AuthFailureLimit, err = ratelimit.ParseSpec(env("AUTH_FAILURE_LIMIT", "20/minute")); err != nil {
		fail("AUTH_FAILURE_LIMIT: %v", err)
	}
	cfg.RateLimitBy = strings.ToLower(env("RATE_LIMIT_BY", "key"))
	if cfg.RateLimitBy != "key" && cfg.RateLimitBy != "ip" {
		fail("RATE_LIMIT_BY: want key or ip")
	}
	// On Cloud Run the request arrives through Google's front end, which
	// appends the client address to X-Forwarded-For: trust that one entry.
	defHops := "0"
	if getenv("K_SERVICE") != "" {
		defHops = "1"
	}
	if cfg.TrustedProxyHops, err = strconv.Atoi(env("TRUSTED_PROXY_HOPS", defHops)); err != nil || cfg.TrustedProxyHops < 0 || cfg.TrustedProxyHops > 10 {
		fail("TRUSTED_PROXY_HOPS: want an integer 0..10")
	}

	cfg.Guard = guard.DefaultConfig()
	boolVar := func(name string, def bool) bool {
		v, err := parseBool(env(name, strconv.FormatBool(def)))
		if err != nil {
			fail("%s: %v", name, err)
		}
		return v
	}
	cfg.Guard.Injection = boolVar("ENABLE_PROMPT_INJECTION_CHECK", true)
	cfg.Guard.PII = boolVar("ENABLE_PII_CHECK", cfg.Guard.PII)
	cfg.Guard.Secrets = boolVar("ENABLE_SECRET_CHECK", cfg.Guard.Secrets)
	cfg.Guard.SQL = boolVar("ENABLE_SQL_INJECTION_CHECK", cfg.Guard.SQL)
	cfg.Guard.Shell = boolVar("ENABLE_SHELL_INJECTION_CHECK", cfg.Guard.Shell)
	switch a := guard.Action(strings.ToLower(env("PII_ACTION", "block"))); a {
	case guard.ActionBlock, guard.ActionRedact, guard.ActionAllow:
		cfg.Guard.PIIAction = a
	default:
		fail("PII_ACTION: want block, redact or allow")
	}
	cfg.PIIRestore = boolVar("PII_RESTORE", false)
	cfg.LogPrompts = boolVar("LOG_PROMPTS", false)

	// AI safety.
	defSafety := "off"
	if raw["LAKERA_API_KEY"] != "" {
		defSafety = "lakera"
	}
	safetyOrder, err := safety.ParseOrder(env("SAFETY_CHECK", defSafety))
	if err != nil {
		fail("%v", err)
	}
	threshold, err := strconv.ParseFloat(env("TOXICITY_THRESHOLD", "0.7"), 64)
	if err != nil || threshold < 0 || threshold > 1 {
		fail("TOXICITY_THRESHOLD: want a number between 0 and 1")
	}
	failMode := strings.ToLower(env("SAFETY_FAIL_MODE", "open"))
	if failMode != "open" && failMode != "closed" {
		fail("SAFETY_FAIL_MODE: want open or closed")
	}
	lakeraURL := env("LAKERA_BASE_URL", "https://api.lakera.ai")
	if err := checkURL(lakeraURL); err != nil {
		fail("LAKERA_BASE_URL: %v", err)
	}
	for _, o := range safetyOrder {
		if o == "gemini" && raw["GEMINI_API_KEY"] == "" {
			fail("SAFETY_CHECK: gemini needs GEMINI_API_KEY")
		}
		if o == "lakera" && raw["LAKERA_API_KEY"] == "" {
			fail("SAFETY_CHECK: lakera needs LAKERA_API_KEY")
		}
	}
	cfg.Safety = safety.Config{
		Order:           safetyOrder,
		Threshold:       threshold,
		FailClosed:      failMode == "closed",
		GeminiBaseURL:   byName["gemini"].BaseURL,
		GeminiModel:     env("SAFETY_GEMINI_MODEL", providers.DefaultGeminiModel),
		GeminiKey:       cfg.Secrets.Source("GEMINI_API_KEY"),
		LakeraBaseURL:   lakeraURL,
		LakeraKey:       cfg.Secrets.Source("LAKERA_API_KEY"),
		LakeraProjectID: env("LAKERA_PROJECT_ID", ""),
	}

	cfg.GoogleProject = env("GOOGLE_CLOUD_PROJECT", env("GCP_PROJECT", ""))
	cfg.OpenRouterTitle = env("OPENROUTER_APP_TITLE", "LLM Secure Gateway")
	cfg.OpenRouterRef = env("OPENROUTER_APP_URL", "https://github.com/llm-secure-gateway/gateway")

	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// ActiveProviders returns the providers the cascade will call, in order.
func (c *Config) ActiveProviders() []ProviderConfig {
	var out []ProviderConfig
	for _, p := range c.Providers {
		if p.Active {
			out = append(out, p)
		}
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseDuration takes Go durations ("20s") and, as the original service's
// settings did, a bare number of seconds ("20").
func parseDuration(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f <= 0 || f > 86400 {
			return 0, errors.New("want a positive duration such as 20s")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration such as 20s")
	}
	return d, nil
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, errors.New("want true or false")
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an absolute http(s) URL")
	}
	if u.User != nil || u.RawQuery != "" {
		return errors.New("must not carry credentials or a query")
	}
	return nil
}

func validProviderName(s string) bool {
	if s == "" || len(s) > 32 || s == "demo" || s == "auto" {
		return false
	}
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// envName is a provider's variable prefix: "my-llm" → "MY_LLM".
func envName(name string) string {
	return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// cascadeConfig is the providers.CascadeConfig this configuration asks for.
func (c *Config) cascadeConfig(ps []providers.Provider, keys map[string]providers.KeySource) providers.CascadeConfig {
	return providers.CascadeConfig{
		Providers: ps, AttemptTimeout: c.ProviderTimeout, Pricing: c.Pricing, Keys: keys,
		RetryMax: c.RetryMax, RetryBackoff: c.RetryBackoff,
		CooldownAfter: c.CooldownAfter, CooldownBase: c.CooldownBase, CooldownMax: c.CooldownMax,
		HedgeAfter: c.HedgeAfter,
	}
}
