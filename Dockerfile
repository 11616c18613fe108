# syntax=docker/dockerfile:1
# One image for the three apps, run as the unprivileged `node` user:
#   docker build -t ledgerline .
#   docker run --init ledgerline                                 # the ingest API (default)
#   docker run --init ledgerline dist/partition-worker/main.js   # a partition worker
#   docker run --init ledgerline dist/ledgerctl/main.js migrate  # ledgerctl
# Configuration is env only (.env.example; every tunable in apps/*/src/config.ts). Inside a
# container set HOST=0.0.0.0 (API) and WORKER_OPS_HOST=0.0.0.0 (worker ops server) so
# published ports reach them; docker-compose.yml's `apps` profile does. Run it with an init
# (`docker run --init`; compose's `init: true`): node as PID 1 gets only the signals it has a
# handler for, so a SIGTERM before the app's handlers are in place (the first moment of main)
# would be dropped; under an init it ends the process at once instead.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: every workspace's dependencies, then `npm run build` (esbuild, one bundle per app)
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
COPY apps apps
COPY packages packages
COPY scripts/build.mjs scripts/
RUN npm ci --no-audit --no-fund && node scripts/build.mjs

# --- runtime dependencies only: what the bundles leave to node_modules (express, pg, kafkajs...).
# npm needs every workspace's package.json to install from the lockfile; the sources come
# along in this stage only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/apps apps
COPY --from=build /app/packages packages
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# --- runtime: node, the production node_modules and dist/; nothing else
FROM ${NODE_IMAGE}
# production: the apps refuse the development JWT secret and database passwords (compose's
# `apps` profile sets LEDGERLINE_ENV=development for the local stack).
ENV NODE_ENV=production LEDGERLINE_ENV=production
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules node_modules
COPY --from=deps --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/dist dist
# Files are root's and read-only to the process; it runs as `node` (uid 1000).
USER node
EXPOSE 8080 9464
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["dist/ingest-api/main.js"]
