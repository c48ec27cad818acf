#!/usr/bin/env bash
# Deploy the gateway to Google Cloud as a Cloud Run function (GCF gen2).
#
#   GEMINI_API_KEY=... [GROQ_API_KEY=...] [OPENROUTER_API_KEY=...] deploy/gcp.sh
#
# Creates (if missing) one Secret Manager secret per key you pass, a
# dedicated runtime service account that may read exactly those secrets, and
# deploys. SERVICE_API_KEY (the key your clients send) is generated if
# neither the variable nor the secret exists, and printed once.
# Settings: PROJECT (default: gcloud's), REGION (europe-west1), NAME
# (llm-gateway), SECRETS_MODE=platform|runtime (see deploy/gcp.md).
# The flags match cloudbuild.yaml, which CI uses; deploy_test.go checks both.
set -euo pipefail

PROJECT=${PROJECT:-$(gcloud config get-value project 2>/dev/null)}
REGION=${REGION:-europe-west1}
NAME=${NAME:-llm-gateway}
SA_NAME=${SA_NAME:-${NAME}-runtime}
SECRETS_MODE=${SECRETS_MODE:-platform}
[ -n "$PROJECT" ] || { echo "ERROR: set PROJECT or run: gcloud config set project ID" >&2; exit 1; }
cd "$(dirname "$0")/.."

if [ "${SKIP_TESTS:-}" != 1 ] && command -v go >/dev/null; then
  go vet ./... && go test -short ./...
fi

gcloud services enable --project "$PROJECT" cloudfunctions.googleapis.com run.googleapis.com \
  cloudbuild.googleapis.com artifactregistry.googleapis.com secretmanager.googleapis.com

SA="${SA_NAME}@${PROJECT}.iam.gserviceaccount.com"
if ! gcloud iam service-accounts describe "$SA" --project "$PROJECT" >/dev/null 2>&1; then
  gcloud iam service-accounts create "$SA_NAME" --project "$PROJECT" --display-name "LLM gateway runtime"
fi

secrets=()   # ENV=secret:latest for --set-secrets
refs=()      # ENV=sm://secret for SECRETS_MODE=runtime
# ensure_secret VAR: create the secret from $VAR if missing, grant the
# runtime account access to that one secret, and remember the mapping.
ensure_secret() {
  local var=$1 secret
  secret="${NAME}-$(echo "$var" | tr 'A-Z_' 'a-z-')"
  if ! gcloud secrets describe "$secret" --project "$PROJECT" >/dev/null 2>&1; then
    [ -n "${!var:-}" ] || return 0
    # The value goes through stdin, never argv or a file.
    printf '%s' "${!var}" | gcloud secrets create "$secret" --project "$PROJECT" \
      --replication-policy=automatic --data-file=- >/dev/null
    echo "created secret $secret"
  elif [ -n "${!var:-}" ]; then
    printf '%s' "${!var}" | gcloud secrets versions add "$secret" --project "$PROJECT" --data-file=- >/dev/null
    echo "added a new version to $secret"
  fi
  gcloud secrets add-iam-policy-binding "$secret" --project "$PROJECT" \
    --member "serviceAccount:$SA" --role roles/secretmanager.secretAccessor >/dev/null
  secrets+=("${var}=${secret}:latest")
  refs+=("${var}=sm://${secret}")
}

if [ -z "${SERVICE_API_KEY:-}" ] && ! gcloud secrets describe "${NAME}-service-api-key" --project "$PROJECT" >/dev/null 2>&1; then
  SERVICE_API_KEY=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
  echo "Generated SERVICE_API_KEY (shown once, keep it): $SERVICE_API_KEY"
fi
for v in SERVICE_API_KEY GEMINI_API_KEY GROQ_API_KEY OPENROUTER_API_KEY LAKERA_API_KEY; do
  ensure_secret "$v"
done
if [ "${#secrets[@]}" -lt 2 ]; then
  echo "ERROR: No LLM provider API key configured! Pass GEMINI_API_KEY, GROQ_API_KEY or OPENROUTER_API_KEY." >&2
  exit 1
fi

join() { local IFS=,; echo "$*"; }
if [ "$SECRETS_MODE" = runtime ]; then
  # The gateway reads Secret Manager itself: rotation without a redeploy.
  secret_flag=(--set-env-vars "^|^GOOGLE_CLOUD_PROJECT=${PROJECT}|$(IFS='|'; echo "${refs[*]}")")
else
  secret_flag=(--set-env-vars "GOOGLE_CLOUD_PROJECT=${PROJECT}" --set-secrets "$(join "${secrets[@]}")")
fi

gcloud functions deploy "$NAME" --gen2 --project="$PROJECT" --region="$REGION" \
  --runtime=go126 --source=. --entry-point=Gateway --trigger-http --allow-unauthenticated \
  --service-account="$SA" --memory=512Mi --cpu=1 --concurrency=80 --timeout=300s \
  --max-instances="${MAX_INSTANCES:-20}" "${secret_flag[@]}" \
  --set-build-env-vars=GOOGLE_GOLDFLAGS='-s -w'

URL=$(gcloud functions describe "$NAME" --gen2 --project "$PROJECT" --region "$REGION" --format='value(serviceConfig.uri)')
echo
echo "Deployed: $URL"
echo "Try:  curl -s $URL/health"
echo "      curl -s -X POST $URL/query -H 'X-API-Key: <SERVICE_API_KEY>' -H 'Content-Type: application/json' -d '{\"prompt\":\"Hello\"}'"
