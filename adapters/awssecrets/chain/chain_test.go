package chain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llm-secure-gateway/gateway/adapters/awssecrets"
	"github.com/llm-secure-gateway/gateway/adapters/fakes"
	"github.com/llm-secure-gateway/gateway/function/secrets"
)

// The default chain reads a shared credentials file, which the Lambda
// backend (environment only) does not: one fake, both behaviours.
func TestChainReadsSharedCredentialsFile(t *testing.T) {
	f := fakes.NewAWSSecrets(map[string]string{"gateway/groq": "gsk-from-chain"})
	t.Cleanup(f.Close)
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", f.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ref := secrets.Ref{Scheme: awssecrets.Scheme, Name: "gateway/groq"}
	got, err := New().Fetch(ctx, ref)
	if err != nil || got != "gsk-from-chain" {
		t.Fatalf("chain Fetch = %q, %v", got, err)
	}
	if _, err := awssecrets.New().Fetch(ctx, ref); !errors.Is(err, awssecrets.ErrNoCredentials) {
		t.Fatalf("environment-only Fetch err = %v, want ErrNoCredentials", err)
	}
}
