# syntax=docker/dockerfile:1
# Tokengate image: build with the full toolchain, run with production dependencies only.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
RUN npx tsc -p tsconfig.json

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
USER node
EXPOSE 8080 8081 9464
# The ops listener answers /healthz; node's own fetch needs no curl. It asks the port in
# TOKENGATE_HEALTHCHECK_PORT: when your config's ops.port is not 9464, run the container with
# -e TOKENGATE_HEALTHCHECK_PORT=<ops.port> (ops.host must be 127.0.0.1 or 0.0.0.0).
ENV TOKENGATE_HEALTHCHECK_PORT=9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.TOKENGATE_HEALTHCHECK_PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli.js"]
CMD ["start", "--config", "/etc/tokengate/gateway.yaml"]
