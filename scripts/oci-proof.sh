#!/usr/bin/env bash
# The agent's sandbox in a real OCI container, end to end (docs/container-sandbox.md):
#   1. an image: a Debian bookworm minbase root file system (debootstrap; no image registry is
#      needed) with bubblewrap, tini, a `node` user (uid 1000), this machine's node binary and the
#      built service with its production dependencies; imported with podman;
#   2. scripts/oci-proof.ts runs it under docker-compose.yml's security options and checks through
#      the HTTP API that an agent turn's shell runs in bubblewrap inside the container; and that
#      with Docker's default seccomp profile (alone or with CAP_SYS_ADMIN), or with /proc masked,
#      the service refuses to start beyond loopback and says what is missing.
#
#   sudo scripts/oci-proof.sh     needs podman, runc, debootstrap (apt-get install podman runc
#                                 debootstrap) and deb.debian.org on the first run
#
# Opt-in, not part of CI: the first run spends about two minutes in debootstrap. The root file
# system and the production dependencies are cached in OCI_PROOF_CACHE (default
# ~/.cache/agent-gateway-ci/oci-proof); later runs take about a minute.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CACHE=${OCI_PROOF_CACHE:-$HOME/.cache/agent-gateway-ci/oci-proof}
IMAGE=localhost/agent-gateway:oci-proof
STARTED=$SECONDS
step() { echo "--- $* ($((SECONDS - STARTED)) s)"; }

[[ $(id -u) -eq 0 ]] || { echo "run as root (rootful podman)" >&2; exit 2; }
for tool in podman runc debootstrap; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install podman runc debootstrap" >&2; exit 2; }
done
mkdir -p "$CACHE"

rootfs=$CACHE/rootfs-bookworm
if [[ ! -e $rootfs/.complete ]]; then
  step "debootstrap --variant=minbase bookworm (once; cached in $rootfs)"
  rm -rf "$rootfs"
  timeout 900 debootstrap --variant=minbase --include=bubblewrap,ca-certificates,tini \
    bookworm "$rootfs" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
    || { tail -5 "$CACHE/debootstrap.log" >&2; exit 1; }
  # the Dockerfile's runtime user and directories
  chroot "$rootfs" sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node &&
    mkdir -p /app/data /workspace && chown node:node /app/data /workspace'
  echo agent-gateway-oci-proof >"$rootfs/etc/oci-proof-image"
  rm -rf "$rootfs/var/cache/apt/archives"/*.deb "$rootfs/var/lib/apt/lists"/*
  touch "$rootfs/.complete"
fi

deps=$CACHE/prod-deps-$(sha256sum package-lock.json | cut -c1-16)
if [[ ! -e $deps/.complete ]]; then
  step "production dependencies (once per package-lock.json)"
  rm -rf "$CACHE"/prod-deps-*
  mkdir -p "$deps"
  cp package.json package-lock.json "$deps/"
  (cd "$deps" && timeout 600 npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --silent)
  touch "$deps/.complete"
fi

step "build (when dist/ is stale)"
node scripts/build-if-stale.mjs --check || npm run --silent build

step "podman import: root file system + node + /app (dist, package.json, node_modules)"
podman rmi -f "$IMAGE" >/dev/null 2>&1 || true
tar -c --exclude=./.complete -C "$rootfs" . \
  -C "$(dirname "$(readlink -f "$(command -v node)")")" ./node \
  -C "$deps" ./node_modules ./package.json \
  -C "$PWD" ./dist \
  --transform 's,^\./node$,./usr/local/bin/node,' \
  --transform 's,^\./\(node_modules\|package\.json\|dist\)\b,./app/\1,' \
  | podman import \
    --change 'USER node' --change 'WORKDIR /app' \
    --change 'ENV NODE_ENV=production' --change 'ENV HOST=0.0.0.0' --change 'ENV PORT=8000' \
    --change 'ENV OH_PERSISTENCE_DIR=/app/data' --change 'ENV OH_WORKSPACE_PATH=/workspace' \
    --change 'ENTRYPOINT ["/usr/bin/tini", "--"]' --change 'CMD ["node", "dist/main.js"]' \
    - "$IMAGE" >/dev/null
trap 'podman rmi -f "$IMAGE" >/dev/null 2>&1 || true' EXIT

step "the proof"
timeout 600 node_modules/.bin/tsx scripts/oci-proof.ts "$IMAGE"
step "done"
