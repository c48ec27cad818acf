// Package gateway is the Cloud Run functions (GCF gen2) entry point: Google's
// buildpack blank-imports this module root and serves the function that
// init registers as "Gateway" (deploy with --entry-point=Gateway). The
// pipeline itself lives in package function; this file only wires Google's
// secret backend and platform facts into it.
package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/llm-secure-gateway/gateway/adapters/gcpsecrets"
	"github.com/llm-secure-gateway/gateway/function"
	"github.com/llm-secure-gateway/gateway/function/secrets"
)

// EntryPoint is the name the function is registered and deployed under.
const EntryPoint = "Gateway"

// coldStartTimeout bounds configuration loading, secret fetches included, so
// a stuck Secret Manager fails the instance instead of hanging it.
const coldStartTimeout = 30 * time.Second

func init() {
	ctx, cancel := context.WithTimeout(context.Background(), coldStartTimeout)
	defer cancel()
	h, err := newHandler(ctx, os.Getenv)
	if err != nil {
		// The platform shows this one line; the instance must not serve.
		function.NewLogger(os.Stdout).Error(err.Error(), slog.String("component", "startup"))
		if !testing.Testing() {
			os.Exit(1)
		}
		// Under go test the package must still load so its tests can run.
		h = unconfigured()
	}
	functions.HTTP(EntryPoint, h.ServeHTTP)
}

// newHandler loads configuration (resolving sm:// references) and builds
// the gateway for one instance.
func newHandler(ctx context.Context, getenv func(string) string) (http.Handler, error) {
	cfg, err := function.LoadConfig(ctx, getenv, function.LoadOptions{
		Backends: map[string]secrets.Backend{gcpsecrets.Scheme: gcpsecrets.New(getenv)},
	})
	if err != nil {
		return nil, err
	}
	// No client-IP shim here: the core trusts the one X-Forwarded-For entry
	// Google's front end appends whenever K_SERVICE says it runs on Cloud Run.
	gw, err := function.New(cfg)
	if err != nil {
		return nil, err
	}
	return gw, nil
}

// unconfigured answers every request with the gateway's JSON error shape.
func unconfigured() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		w.Write([]byte(`{"detail":"Gateway is not configured"}` + "\n")) //nolint:errcheck
	})
}
