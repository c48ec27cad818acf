// Package chain builds an awssm:// backend on the AWS SDK's full default
// configuration chain (profiles, SSO, STS, IMDS), for a gateway run on a
// developer machine or a server. The Lambda bootstrap does not import it: the
// function's role credentials are in its environment, and this chain would
// add 2.2 MiB to the binary.
package chain

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/llm-secure-gateway/gateway/adapters/awssecrets"
)

// New returns a Secrets Manager backend using the default chain; optFns
// adjust the client.
func New(optFns ...func(*secretsmanager.Options)) *awssecrets.Backend {
	return awssecrets.NewWith(func(ctx context.Context, id string) (*secretsmanager.Client, error) {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		if cfg.Region == "" {
			cfg.Region = awssecrets.RegionOf(id)
		}
		return secretsmanager.NewFromConfig(cfg, optFns...), nil
	})
}
