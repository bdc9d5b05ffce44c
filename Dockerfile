# syntax=docker/dockerfile:1
# agent-gateway: build on the full toolchain, run on a slim non-root image with the tools the
# agent's shell needs. `docker compose up` (docker-compose.yml) is the usual way to run it.

# --- build: install everything, compile, then drop the dev dependencies ---
FROM node:22.20.0-bookworm-slim AS build
# A C compiler for the native sandbox program (src/sandbox/native); only in this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY scripts/build-native-sandbox.mjs ./scripts/
COPY src ./src
RUN npm run build \
 && test -x dist/sandbox/native/oh-sandbox \
 && npm prune --omit=dev --no-audit --no-fund

# --- runtime (no compiler: dist/ brings the built sandbox program) ---
FROM node:22.20.0-bookworm-slim
# The agent works in a real shell: bash, git and the usual command-line tools; tini reaps the
# processes it starts; bubblewrap can sandbox them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      bash bubblewrap ca-certificates curl diffutils file findutils git jq less openssh-client \
      patch procps python3 ripgrep tini unzip wget xz-utils zip \
 && rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    OH_PERSISTENCE_DIR=/app/data \
    OH_WORKSPACE_PATH=/workspace

WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./package.json
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
# Owned by the unprivileged user, so named volumes mounted here inherit that ownership.
RUN mkdir -p /app/data /workspace && chown node:node /app/data /workspace

USER node
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
