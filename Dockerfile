# Media service (container/): crop, reframe, stitch and probe jobs with sharp and FFmpeg.
# Deployed as the MediaContainer (@cloudflare/containers); listens on 8080.
FROM node:22-bookworm-slim

# Debian's FFmpeg (5.1, with libx264); no recommends keeps the image lean.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV NODE_ENV=production

# Only the service's runtime dependencies, pinned in container/package.json (sharp ships a
# prebuilt libvips for linux-x64/arm64 glibc, so nothing is compiled here).
COPY container/package.json ./package.json
RUN npm install --omit=dev --no-audit --no-fund \
 && npm cache clean --force

COPY container/ ./container/
# Tools shared with the simulator and scripts (FFmpeg lookup and runner, the semaphore).
COPY common/ ./common/
COPY src/domain/ ./src/domain/

# Finished-job answers live here (idempotency across restarts of the process).
RUN mkdir -p /app/.atelier/media && chown -R node:node /app/.atelier
USER node

ENV MEDIA_PORT=8080 MEDIA_HOST=0.0.0.0 MEDIA_STATE_DIR=/app/.atelier/media
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.MEDIA_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Node 22 runs the TypeScript sources directly (type stripping; the code uses erasable syntax only).
CMD ["node", "--experimental-strip-types", "--disable-warning=ExperimentalWarning", "container/server.ts"]
