#!/usr/bin/env bash
# Deploy the gateway to AWS Lambda with SAM (template.yaml).
#
#   GEMINI_API_KEY=... [GROQ_API_KEY=...] [OPENROUTER_API_KEY=...] deploy/aws.sh
#
# Creates (if missing) one Secrets Manager secret per key you pass, builds
# the arm64 bootstrap and deploys the stack; the function may read exactly
# those secrets. SERVICE_API_KEY (the key your clients send) is generated if
# neither the variable nor the secret exists, and printed once.
# Settings: STACK (llm-gateway), AWS_REGION (default: the CLI's).
set -euo pipefail

STACK=${STACK:-llm-gateway}
REGION=${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region 2>/dev/null || true)}}
[ -n "$REGION" ] || { echo "ERROR: set AWS_REGION" >&2; exit 1; }
cd "$(dirname "$0")/.."

if [ "${SKIP_TESTS:-}" != 1 ] && command -v go >/dev/null; then
  go vet ./... && go test -short ./...
fi

params=()
# ensure_secret VAR PARAM: create secret STACK/var from $VAR if missing (or
# store $VAR as its new current version) and pass its name to PARAM.
ensure_secret() {
  local var=$1 param=$2 name
  name="${STACK}/$(echo "$var" | tr 'A-Z_' 'a-z-')"
  if ! aws secretsmanager describe-secret --region "$REGION" --secret-id "$name" >/dev/null 2>&1; then
    [ -n "${!var:-}" ] || return 0
    # The value goes through stdin, never argv.
    printf '%s' "${!var}" | aws secretsmanager create-secret --region "$REGION" --name "$name" \
      --secret-string file:///dev/stdin >/dev/null
    echo "created secret $name"
  elif [ -n "${!var:-}" ]; then
    printf '%s' "${!var}" | aws secretsmanager put-secret-value --region "$REGION" --secret-id "$name" \
      --secret-string file:///dev/stdin >/dev/null
    echo "stored a new version of $name"
  fi
  params+=("${param}=${name}")
}

if [ -z "${SERVICE_API_KEY:-}" ] && ! aws secretsmanager describe-secret --region "$REGION" --secret-id "${STACK}/service-api-key" >/dev/null 2>&1; then
  SERVICE_API_KEY=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
  echo "Generated SERVICE_API_KEY (shown once, keep it): $SERVICE_API_KEY"
fi
ensure_secret SERVICE_API_KEY ServiceApiKeySecretName
ensure_secret GEMINI_API_KEY GeminiApiKeySecretName
ensure_secret GROQ_API_KEY GroqApiKeySecretName
ensure_secret OPENROUTER_API_KEY OpenRouterApiKeySecretName
if [ "${#params[@]}" -lt 2 ]; then
  echo "ERROR: No LLM provider API key configured! Pass GEMINI_API_KEY, GROQ_API_KEY or OPENROUTER_API_KEY." >&2
  exit 1
fi

# SAM's go1.x builder runs plain `go build`; these make it the Lambda build.
CGO_ENABLED=0 GOFLAGS='-tags=lambda.norpc -trimpath -ldflags=-s' sam build --template-file template.yaml
sam deploy --stack-name "$STACK" --region "$REGION" --resolve-s3 --capabilities CAPABILITY_IAM \
  --no-confirm-changeset --no-fail-on-empty-changeset --parameter-overrides "${params[@]}"

aws cloudformation describe-stacks --region "$REGION" --stack-name "$STACK" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text
echo "Try:  curl -sN -X POST <FunctionUrl>v1/chat/completions -H 'Authorization: Bearer <SERVICE_API_KEY>' \\"
echo "        -H 'Content-Type: application/json' -d '{\"model\":\"auto\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'"
