// Package awssecrets resolves awssm:// references through AWS Secrets
// Manager. Only binaries that import it (the Lambda bootstrap) link the AWS
// SDK; the Cloud Functions build does not.
package awssecrets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
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
// first use, once per instance. New configures it from the environment the
// Lambda runtime provides (the function role's AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, AWS_REGION, and the SDK's
// AWS_ENDPOINT_URL_SECRETS_MANAGER / AWS_ENDPOINT_URL overrides) without the
// SDK's config package: SSO, profiles, STS and IMDS are of no use there and
// weigh 2.2 MiB of the bootstrap. NewWith takes another client maker; the
// awssecrets/chain package uses the SDK's full default chain.
type Backend struct {
	optFns  []func(*secretsmanager.Options)
	mk      ClientFunc
	timeout time.Duration

	mu     sync.Mutex
	client *secretsmanager.Client
}

// ClientFunc makes the Secrets Manager client for the first secret fetched.
type ClientFunc func(ctx context.Context, secretID string) (*secretsmanager.Client, error)

// New returns a Backend configured from the environment; optFns adjust the
// client (tests, custom endpoints).
func New(optFns ...func(*secretsmanager.Options)) *Backend {
	return &Backend{optFns: optFns, timeout: DefaultTimeout}
}

// NewWith returns a Backend whose client comes from mk.
func NewWith(mk ClientFunc) *Backend {
	return &Backend{mk: mk, timeout: DefaultTimeout}
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
	if b.mk != nil {
		c, err := b.mk(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("aws config: %w", err)
		}
		b.client = c
		return c, nil
	}
	b.client = secretsmanager.New(envOptions(id), b.optFns...)
	return b.client, nil
}

// ErrNoCredentials means the environment holds no AWS credentials.
var ErrNoCredentials = errors.New("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")

// envOptions is the client configuration Lambda's environment gives.
func envOptions(id string) secretsmanager.Options {
	o := secretsmanager.Options{Region: cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))}
	if o.Region == "" {
		// Outside Lambda AWS_REGION may be unset; a full ARN still names its region.
		o.Region = RegionOf(id)
	}
	if ep := cmp.Or(os.Getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER"), os.Getenv("AWS_ENDPOINT_URL")); ep != "" {
		o.BaseEndpoint = aws.String(ep)
	}
	o.Credentials = aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		key, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		if key == "" || secret == "" {
			return aws.Credentials{}, ErrNoCredentials
		}
		return aws.Credentials{AccessKeyID: key, SecretAccessKey: secret, SessionToken: os.Getenv("AWS_SESSION_TOKEN"), Source: "EnvironmentVariables"}, nil
	}))
	return o
}

// RegionOf returns the region of arn:PARTITION:secretsmanager:REGION:..., or "".
func RegionOf(id string) string {
	parts := strings.SplitN(id, ":", 5)
	if len(parts) == 5 && parts[0] == "arn" && parts[2] == "secretsmanager" {
		return parts[3]
	}
	return ""
}
