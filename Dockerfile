# syntax=docker/dockerfile:1
# One image for the three apps, run as the unprivileged `node` user:
#   docker build -t ledgerline .
#   docker run ledgerline                                   # the ingest API (default)
#   docker run ledgerline dist/partition-worker/main.js     # a partition worker
#   docker run ledgerline dist/ledgerctl/main.js migrate    # ledgerctl
# Configuration is env only (.env.example; every tunable in apps/*/src/config.ts). Inside a
# container set HOST=0.0.0.0 (API) and WORKER_OPS_HOST=0.0.0.0 (worker ops server) so
# published ports reach them; docker-compose.yml's `apps` profile does.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: every workspace's dev dependencies, then `npm run build` (esbuild, one bundle per app)
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY apps/ingest-api/package.json apps/ingest-api/
COPY apps/partition-worker/package.json apps/partition-worker/
COPY apps/ledgerctl/package.json apps/ledgerctl/
COPY packages/auth/package.json packages/auth/
COPY packages/config/package.json packages/config/
COPY packages/domain/package.json packages/domain/
COPY packages/kafka/package.json packages/kafka/
COPY packages/logging/package.json packages/logging/
COPY packages/postgres/package.json packages/postgres/
COPY packages/redis/package.json packages/redis/
COPY packages/schemas/package.json packages/schemas/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build.mjs scripts/
COPY apps apps
COPY packages packages
RUN node scripts/build.mjs

# --- runtime dependencies only: what the bundles leave to node_modules (express, pg, kafkajs...)
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/apps/ingest-api/package.json apps/ingest-api/
COPY --from=build /app/apps/partition-worker/package.json apps/partition-worker/
COPY --from=build /app/apps/ledgerctl/package.json apps/ledgerctl/
COPY --from=build /app/packages/auth/package.json packages/auth/
COPY --from=build /app/packages/config/package.json packages/config/
COPY --from=build /app/packages/domain/package.json packages/domain/
COPY --from=build /app/packages/kafka/package.json packages/kafka/
COPY --from=build /app/packages/logging/package.json packages/logging/
COPY --from=build /app/packages/postgres/package.json packages/postgres/
COPY --from=build /app/packages/redis/package.json packages/redis/
COPY --from=build /app/packages/schemas/package.json packages/schemas/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: node, the production node_modules and dist/; nothing else
FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules node_modules
COPY --from=deps --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/dist dist
# Files are root's and read-only to the process; it runs as `node` (uid 1000).
USER node
EXPOSE 8080 9464
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["dist/ingest-api/main.js"]
