# syntax=docker/dockerfile:1.7
# Every image of the system, from the repository root, one service each:
#   docker build --build-arg SERVICE=<gateway|inventory|booking|enrollment|worker> -t cupo/<service>:dev .
#   docker build --build-arg SERVICE=providers --target providers -t cupo/providers:dev .   (development stand-ins)
# Multi-stage: the runtime image holds only the built service and its production dependencies,
# runs as a non-root user, and starts node directly so SIGTERM reaches it (no shell in between).

ARG NODE_VERSION=20.19-bookworm-slim

FROM node:${NODE_VERSION} AS build
# Required: which workspace package to build (services/<SERVICE>, or tools/<SERVICE> for the stand-ins).
ARG SERVICE
RUN test -n "$SERVICE" || (echo "--build-arg SERVICE is required (gateway, inventory, booking, enrollment, worker or providers)" && exit 1)
RUN npm install -g pnpm@10.34.8
WORKDIR /src
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc tsconfig.base.json tsconfig.json ./
COPY patches ./patches
COPY packages ./packages
COPY services ./services
COPY tools ./tools
COPY tests/system/package.json tests/system/package.json
COPY tests/integration/package.json tests/integration/package.json
RUN pnpm install --frozen-lockfile
RUN dir="services/$SERVICE"; [ -d "$dir" ] || dir="tools/$SERVICE"; \
  [ -f "$dir/package.json" ] || { echo "no package services/$SERVICE or tools/$SERVICE"; exit 1; }; \
  pnpm exec tsc -b "$dir"
# A self-contained folder with the service, its workspace packages and prod deps only.
RUN pnpm --filter "@cupo/${SERVICE}" deploy --prod --legacy /out

# The providers' stand-ins (development only): Graph-like, Moodle-like, SMTP sink, student source.
FROM node:${NODE_VERSION} AS providers
# STAND_IN_HOST: every address, not the container's own loopback, so other containers (compose's worker) reach it.
ENV NODE_ENV=production STAND_IN=graph PORT=9500 STAND_IN_HOST=0.0.0.0
WORKDIR /app
COPY --from=build --chown=node:node /out ./
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]

# A service (the default target, last).
FROM node:${NODE_VERSION} AS service
ARG SERVICE
ENV NODE_ENV=production SERVICE=${SERVICE}
WORKDIR /app
COPY --from=build --chown=node:node /out ./
USER node
# Each process answers its health on its ops port: OPS_PORT (default 9090) for the gateway, HTTP_PORT otherwise.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "const p=process.env.SERVICE==='gateway'?(process.env.OPS_PORT||9090):process.env.HTTP_PORT;fetch('http://127.0.0.1:'+p+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--enable-source-maps", "dist/main.js"]
