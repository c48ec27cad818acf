// Package gcpsecrets resolves sm:// references through Google Secret Manager.
// Only binaries that import it (the Cloud Functions build) link the Google
// SDK; the Lambda bootstrap does not.
package gcpsecrets

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"
	"time"

	secretmanager "cloud.google.com/go/secretmanager/apiv1"
	"cloud.google.com/go/secretmanager/apiv1/secretmanagerpb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/llm-secure-gateway/gateway/function/secrets"
)

// Scheme is the reference scheme this backend serves.
const Scheme = "sm"

// DefaultTimeout bounds one fetch when the caller's context has a later (or
// no) deadline: the client retries Unavailable for up to 60 s, which would
// otherwise hold a cold start far past any useful point.
const DefaultTimeout = 10 * time.Second

// ErrBadRef means an sm:// reference is not a secret or version name.
var ErrBadRef = errors.New("malformed sm:// reference")

// ErrChecksum means the payload did not match the CRC32C the server sent.
var ErrChecksum = errors.New("secret payload checksum mismatch")

// Backend fetches secret versions. Its client is created on first use, once
// per instance, so a configuration without sm:// references never dials.
type Backend struct {
	getenv  func(string) string
	opts    []option.ClientOption
	timeout time.Duration

	mu     sync.Mutex
	client *secretmanager.Client
}

// New returns a Backend that reads GOOGLE_CLOUD_PROJECT and
// SECRET_MANAGER_EMULATOR_HOST through getenv. opts are passed to the client
// (tests, custom endpoints).
func New(getenv func(string) string, opts ...option.ClientOption) *Backend {
	return &Backend{getenv: getenv, opts: opts, timeout: DefaultTimeout}
}

// ResourceName turns the part after sm:// into a full version name:
// "S" (project from GOOGLE_CLOUD_PROJECT, version latest),
// "projects/P/secrets/S" (version latest) or "projects/P/secrets/S/versions/V".
func ResourceName(name, project string) (string, error) {
	parts := strings.Split(name, "/")
	for _, p := range parts {
		if p == "" {
			return "", ErrBadRef
		}
	}
	switch {
	case len(parts) == 1:
		if project == "" {
			return "", fmt.Errorf("%w: a short name needs GOOGLE_CLOUD_PROJECT", ErrBadRef)
		}
		return "projects/" + project + "/secrets/" + name + "/versions/latest", nil
	case len(parts) == 4 && parts[0] == "projects" && parts[2] == "secrets":
		return name + "/versions/latest", nil
	case len(parts) == 6 && parts[0] == "projects" && parts[2] == "secrets" && parts[4] == "versions":
		return name, nil
	}
	return "", ErrBadRef
}

// Fetch returns the secret version's payload as a string.
func (b *Backend) Fetch(ctx context.Context, ref secrets.Ref) (string, error) {
	name, err := ResourceName(ref.Name, b.getenv("GOOGLE_CLOUD_PROJECT"))
	if err != nil {
		return "", err
	}
	c, err := b.clientFor(ctx)
	if err != nil {
		return "", err
	}
	if b.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.timeout)
		defer cancel()
	}
	resp, err := c.AccessSecretVersion(ctx, &secretmanagerpb.AccessSecretVersionRequest{Name: name})
	if err != nil {
		return "", fmt.Errorf("secret manager: %w", err)
	}
	data := resp.GetPayload().GetData()
	if sum := resp.GetPayload().DataCrc32C; sum != nil {
		if int64(crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))) != *sum {
			return "", ErrChecksum
		}
	}
	return string(data), nil
}

func (b *Backend) clientFor(ctx context.Context) (*secretmanager.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client != nil {
		return b.client, nil
	}
	opts := b.opts
	if host := b.getenv("SECRET_MANAGER_EMULATOR_HOST"); host != "" {
		opts = append([]option.ClientOption{
			option.WithEndpoint(host),
			option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
		}, opts...)
	}
	// The client outlives the cold-start context that creates it.
	c, err := secretmanager.NewClient(context.WithoutCancel(ctx), opts...)
	if err != nil {
		// Not cached: a later Refresh may succeed once credentials appear.
		return nil, fmt.Errorf("secret manager client: %w", err)
	}
	b.client = c
	return c, nil
}

// Close releases the client, if one was created.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.client == nil {
		return nil
	}
	err := b.client.Close()
	b.client = nil
	return err
}
