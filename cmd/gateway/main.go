// Command gateway serves the gateway locally and as a Cloud Run container,
// through functions-framework-go, the same way Cloud Functions runs it.
//
//	go run ./cmd/gateway -demo   # no keys, no network: a built-in demo provider
//	go run ./cmd/gateway         # providers and keys from the environment / .env
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"github.com/joho/godotenv"

	"github.com/llm-secure-gateway/gateway/adapters/awssecrets"
	awschain "github.com/llm-secure-gateway/gateway/adapters/awssecrets/chain"
	"github.com/llm-secure-gateway/gateway/adapters/gcpsecrets"
	"github.com/llm-secure-gateway/gateway/function"
	"github.com/llm-secure-gateway/gateway/function/secrets"
)

func main() {
	demo := flag.Bool("demo", false, "start on 127.0.0.1 with a built-in demo provider (when no provider key is set) and a generated service key")
	envFile := flag.String("env-file", ".env", "file of KEY=value lines read at start when present (the environment wins)")
	flag.Parse()
	if err := run(*demo, *envFile); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(demo bool, envFile string) error {
	if err := godotenv.Load(envFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ERROR: reading %s: %w", envFile, err)
	}
	getenv := os.Getenv
	var generatedKey string
	if demo && os.Getenv("SERVICE_API_KEY") == "" {
		generatedKey = newDemoKey()
		getenv = func(name string) string {
			if name == "SERVICE_API_KEY" {
				return generatedKey
			}
			return os.Getenv(name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Both clouds' secret managers: the container may run on Cloud Run, and
	// a developer may point a local run at either. Clients are made lazily,
	// only when a reference uses them.
	backends := map[string]secrets.Backend{
		gcpsecrets.Scheme: gcpsecrets.New(os.Getenv),
		awssecrets.Scheme: awschain.New(),
	}
	cfg, err := function.LoadConfig(ctx, getenv, function.LoadOptions{Demo: demo, Backends: backends})
	if err != nil {
		return err
	}
	gw, err := function.New(cfg)
	if err != nil {
		return fmt.Errorf("ERROR: %w", err)
	}
	functions.HTTP("Gateway", gw.ServeHTTP)
	// The framework serves only FUNCTION_TARGET at "/" (every path); without
	// it the gateway would answer at /Gateway alone.
	if err := os.Setenv("FUNCTION_TARGET", "Gateway"); err != nil {
		return err
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	host := ""
	if demo {
		host = "127.0.0.1"
		printBanner(cfg, host, port, generatedKey)
	} else {
		slog.New(function.NewLogger(os.Stdout).Handler()).Info("gateway listening",
			slog.String("port", port), slog.Any("providers", cfg.Order))
	}
	return funcframework.StartHostPort(host, port)
}

func newDemoKey() string {
	var b [18]byte
	_, _ = rand.Read(b[:])
	return "demo-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// printBanner is for a person at a terminal, so it is plain text; every other
// stdout line is JSON.
func printBanner(cfg *function.Config, host, port, key string) {
	url := fmt.Sprintf("http://%s:%s", host, port)
	fmt.Printf("\n  LLM Secure Gateway — demo mode\n\n")
	fmt.Printf("  Listening on   %s  (dashboard: %s/ , API docs: %s/docs)\n", url, url, url)
	fmt.Printf("  Providers      %v\n", cfg.Order)
	if cfg.Order[0] == "demo" {
		fmt.Printf("                 (built-in 'demo' provider: canned answers, no LLM is called, no network)\n")
	}
	if key != "" {
		fmt.Printf("  Service key    %s   (generated for this run)\n\n", key)
		fmt.Printf("  Try it:\n    curl -s %s/query -H 'X-API-Key: %s' -H 'Content-Type: application/json' \\\n      -d '{\"prompt\":\"What is a secure gateway?\"}'\n\n", url, key)
	} else {
		fmt.Printf("  Service key    from SERVICE_API_KEY\n\n")
	}
}
