#!/usr/bin/env bash
# Builds the app image (with its SBOM and provenance), pushes it to the bootstrap's ECR repository, and prints the
# APP_IMAGE_TAG to export before `cdktf deploy <env>` from a laptop.
#
# The tag is what CI uses: the last commit that touched what the image is built from
# (IMAGE_PATHS in .github/workflows/main.yml). The repository is immutable, so a tag that is
# already there is never rebuilt, and uncommitted changes to those paths are refused: the
# image would not be what its tag names.
#
# Needs: git, docker with buildx, the AWS CLI, and credentials of the registry account that
# may push to the repository (ecr:GetAuthorizationToken, ecr:DescribeImages, ecr:PutImage and
# the layer-upload actions), e.g. your admin role.
#
# Usage: scripts/deploy/push-image.sh
#   PLATFORMS=linux/arm64 scripts/deploy/push-image.sh   # default: linux/amd64,linux/arm64
#   REPOSITORY_URL=... REGISTRY_REGION=... scripts/deploy/push-image.sh   # instead of config/bootstrap.ts
set -euo pipefail

cd "$(git rev-parse --show-toplevel)"
PLATFORMS="${PLATFORMS:-linux/amd64,linux/arm64}"

fail() { echo "push-image: $*" >&2; exit 1; }
for tool in git docker aws; do command -v "$tool" > /dev/null || fail "'$tool' is not on PATH"; done
docker buildx version > /dev/null 2>&1 || fail "docker buildx is missing: install the buildx plugin"

read -ra IMAGE_PATHS <<< "$(sed -n 's/^  IMAGE_PATHS: //p' .github/workflows/main.yml)"
[ "${#IMAGE_PATHS[@]}" -gt 0 ] || fail "no IMAGE_PATHS in .github/workflows/main.yml"
# The SBOM generator CI attaches with (pinned by digest there), so a laptop image carries one too.
SBOM_ATTEST="$(sed -n 's/^ *attests: //p' .github/workflows/main.yml)"
[ -n "$SBOM_ATTEST" ] || fail "no attests in .github/workflows/main.yml"
if [ -n "$(git status --porcelain -- "${IMAGE_PATHS[@]}")" ]; then
  fail "uncommitted changes in ${IMAGE_PATHS[*]}: commit them first, the tag names a commit"
fi
TAG="$(git log -1 --format=%H -- "${IMAGE_PATHS[@]}")"
[ -n "$TAG" ] || fail "no commit touches ${IMAGE_PATHS[*]}"

if [ -z "${REPOSITORY_URL:-}" ] || [ -z "${REGISTRY_REGION:-}" ]; then
  eval "$(node --import tsx scripts/deploy/image-repository.ts)"
fi
REGISTRY="${REPOSITORY_URL%%/*}"
REPOSITORY_NAME="${REPOSITORY_URL#*/}"
IMAGE="$REPOSITORY_URL:$TAG"

if out="$(aws ecr describe-images --region "$REGISTRY_REGION" --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$TAG" 2>&1)"; then
  echo "push-image: $IMAGE is already published" >&2
elif grep -q ImageNotFoundException <<< "$out"; then
  aws ecr get-login-password --region "$REGISTRY_REGION" | docker login --username AWS --password-stdin "$REGISTRY" > /dev/null
  # Both architectures: node groups may run Graviton (arm64) or x86 instances.
  # No trivy gate here, unlike CI: ECR's enhanced scanning scans the push (docs/ci.md).
  docker buildx build --platform "$PLATFORMS" --file apps/Dockerfile --attest "$SBOM_ATTEST" --provenance=mode=max --tag "$IMAGE" --push .
  echo "push-image: pushed $IMAGE" >&2
else
  fail "cannot look up $IMAGE: $out"
fi

echo "export APP_IMAGE_TAG=$TAG"
