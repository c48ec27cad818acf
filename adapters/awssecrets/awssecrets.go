// Package awssecrets resolves awssm:// references through AWS Secrets
// Manager. Only binaries that import it (the Lambda bootstrap) link the AWS
// SDK; the Cloud Functions build does not.
package awssecrets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/llm-secure-gateway/gateway/function/secrets"
)

// Scheme is the reference scheme this backend serves.
const Scheme = "awssm"

// DefaultTimeout bounds one fetch (the SDK retries up to 3 times) so a cold
// start never hangs on an unreachable endpoint.
const DefaultTimeout = 10 * time.Second

// ErrBadRef means an awssm:// reference is empty.
var ErrBadRef = errors.New("malformed awssm:// reference")

// ErrEmpty means the secret version holds neither a string nor binary value.
var ErrEmpty = errors.New("secret has no value")

// Backend fetches secrets with GetSecretValue. Its client is created on
// first use, once per instance, from the default credential chain (Lambda's
// role) and the standard environment (AWS_REGION,
// AWS_ENDPOINT_URL_SECRETS_MANAGER).
type Backend struct {
	optFns  []func(*secretsmanager.Options)
	timeout time.Duration

	mu     sync.Mutex
	client *secretsmanager.Client
}

// New returns a Backend; optFns adjust the client (tests, custom endpoints).
func New(optFns ...func(*secretsmanager.Options)) *Backend {
	return &Backend{optFns: optFns, timeout: DefaultTimeout}
}

// Fetch returns the secret's current value (SecretString, else SecretBinary).
func (b *Backend) Fetch(ctx context.Context, ref secrets.Ref) (string, error) {
	if ref.Name == "" {
		return "", ErrBadRef
	}
	c, err := b.clientFor(ctx, ref.Name)
	if err != nil {
		return "", err
	}
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref.Name)})
	if err != nil {
		return "", fmt.Errorf("secrets manager: %w", err)
	}
	switch {
	case out.SecretString != nil:
		return *out.SecretString, nil
	case out.SecretBinary != nil:
		return string(out.SecretBinary), nil
	}
	return "", ErrEmpty
}

func (b *Backend) clientFor(ctx context.Context, id string) (*secretsmanager.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil {
		return b.client, nil
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	if cfg.Region == "" {
		// Outside Lambda AWS_REGION may be unset; a full ARN still names its region.
		cfg.Region = arnRegion(id)
	}
	b.client = secretsmanager.NewFromConfig(cfg, b.optFns...)
	return b.client, nil
}

// arnRegion returns the region of arn:PARTITION:secretsmanager:REGION:..., or "".
func arnRegion(id string) string {
	parts := strings.SplitN(id, ":", 5)
	if len(parts) == 5 && parts[0] == "arn" && parts[2] == "secretsmanager" {
		return parts[3]
	}
	return ""
}
