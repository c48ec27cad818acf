package function

import (
	"context"
	"errors"
	"fmt"
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
var ErrNoProvider = errors.New("ERROR: No LLM provider API key configured!")

// ProviderConfig is one configured upstream, active when its key is set.
type ProviderConfig struct {
	Name    string
	BaseURL string
	Model   string
	KeyVar  string // environment variable holding the key (or its reference)
	Active  bool
}

// Config is the validated configuration of one instance.
type Config struct {
	Demo bool

	ServiceKeys []string
	Providers   []ProviderConfig // in PROVIDER_ORDER; inactive ones included for /providers
	Order       []string

	ProviderTimeout time.Duration
	RequestTimeout  time.Duration

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

// secretVars may hold sm:// or awssm:// references.
var secretVars = []string{"SERVICE_API_KEY", "GEMINI_API_KEY", "GROQ_API_KEY", "OPENROUTER_API_KEY", "LAKERA_API_KEY"}

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
	raw := map[string]string{}
	for _, name := range secretVars {
		if v := env(name, ""); v != "" {
			raw[name] = v
		}
	}
	cfg.Secrets = secrets.NewSet(opts.Backends, ttl)
	if err := cfg.Secrets.Load(ctx, raw); err != nil {
		return nil, err
	}

	cfg.Providers = []ProviderConfig{
		{Name: "gemini", KeyVar: "GEMINI_API_KEY",
			BaseURL: env("GEMINI_BASE_URL", "https://generativelanguage.googleapis.com"),
			Model:   env("GEMINI_MODEL", providers.DefaultGeminiModel)},
		{Name: "groq", KeyVar: "GROQ_API_KEY",
			BaseURL: env("GROQ_BASE_URL", "https://api.groq.com/openai/v1"),
			Model:   env("GROQ_MODEL", providers.DefaultGroqModel)},
		{Name: "openrouter", KeyVar: "OPENROUTER_API_KEY",
			BaseURL: env("OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1"),
			Model:   env("OPENROUTER_MODEL", providers.DefaultOpenRouterModel)},
	}
	byName := map[string]*ProviderConfig{}
	for i := range cfg.Providers {
		p := &cfg.Providers[i]
		p.Active = raw[p.KeyVar] != ""
		byName[p.Name] = p
		if err := checkURL(p.BaseURL); err != nil {
			fail("%s_BASE_URL: %v", strings.ToUpper(p.Name), err)
		}
	}
	for _, name := range splitList(env("PROVIDER_ORDER", "gemini,groq,openrouter")) {
		if byName[name] == nil {
			fail("PROVIDER_ORDER: unknown provider %q (known: gemini, groq, openrouter)", name)
			continue
		}
		if !slices.Contains(cfg.Order, name) {
			cfg.Order = append(cfg.Order, name)
		}
	}
	// Providers left out of PROVIDER_ORDER are listed but never called.
	var ordered []ProviderConfig
	for _, name := range cfg.Order {
		ordered = append(ordered, *byName[name])
	}
	for _, p := range cfg.Providers {
		if !slices.Contains(cfg.Order, p.Name) {
			p.Active = false
			ordered = append(ordered, p)
		}
	}
	cfg.Providers = ordered
	anyActive := slices.ContainsFunc(cfg.Providers, func(p ProviderConfig) bool { return p.Active })
	if !anyActive && !opts.Demo {
		return nil, ErrNoProvider
	}
	if !anyActive {
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
	order, err := safety.ParseOrder(env("SAFETY_CHECK", defSafety))
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
	for _, o := range order {
		if o == "gemini" && raw["GEMINI_API_KEY"] == "" {
			fail("SAFETY_CHECK: gemini needs GEMINI_API_KEY")
		}
		if o == "lakera" && raw["LAKERA_API_KEY"] == "" {
			fail("SAFETY_CHECK: lakera needs LAKERA_API_KEY")
		}
	}
	cfg.Safety = safety.Config{
		Order:           order,
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
