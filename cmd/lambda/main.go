// Command lambda is the AWS Lambda bootstrap (provided.al2023, arm64 or
// amd64). One binary serves Function URLs (buffered or streaming), API
// Gateway HTTP and REST APIs and ALB target groups. Build it with
//
//	CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -o bootstrap ./cmd/lambda
//
// It links the AWS SDK for awssm:// references and nothing of Google's.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/llm-secure-gateway/gateway/adapters/awslambda"
	"github.com/llm-secure-gateway/gateway/adapters/awssecrets"
	"github.com/llm-secure-gateway/gateway/function"
	"github.com/llm-secure-gateway/gateway/function/secrets"
)

// initTimeout stays inside Lambda's 10 s init phase, so a stuck secret
// fetch fails the instance with our message rather than the platform's.
const initTimeout = 9 * time.Second

func main() {
	log := function.NewLogger(os.Stdout)
	// Secrets resolve here, before the first /next, so a bad reference fails
	// the instance and never a user's request.
	ctx, cancel := context.WithTimeout(context.Background(), initTimeout)
	cfg, err := function.LoadConfig(ctx, os.Getenv, function.LoadOptions{
		Backends: map[string]secrets.Backend{awssecrets.Scheme: awssecrets.New()},
	})
	cancel()
	if err != nil {
		log.Error(err.Error(), slog.String("component", "startup"))
		os.Exit(1)
	}
	gw, err := function.New(cfg, function.WithLogger(log))
	if err != nil {
		log.Error(err.Error(), slog.String("component", "startup"))
		os.Exit(1)
	}
	awslambda.Start(gw, os.Getenv, awslambda.Options{WithRequestID: function.WithRequestID, Logger: log})
}
