# Armada KV container image: `docker build -t armada-kv .` at the repository root.
# Two stages: the build stage has the compilers and dev dependencies (protobuf generation, TypeScript);
# the runtime stage has only the compiled JavaScript, production dependencies and proto files, and runs
# as an unprivileged user.

FROM node:20-bookworm-slim AS build
WORKDIR /src
# Dependencies first, so that source changes reuse the cached install layer.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts ./scripts
COPY proto ./proto
COPY src ./src
COPY bin ./bin
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
# Reflection and the generated descriptors read the proto files at run time (dist/../proto).
COPY --from=build /src/proto ./proto
# Data lives on a volume mounted here (Kubernetes: the StatefulSet's volume claim).
RUN groupadd --system --gid 10001 armada \
 && useradd --system --uid 10001 --gid armada --home-dir /var/lib/armada --shell /usr/sbin/nologin armada \
 && mkdir -p /var/lib/armada \
 && chown armada:armada /var/lib/armada
USER 10001:10001
# API, replication, maintenance, REST (metrics and probes), Raft.
EXPOSE 8443 8444 8445 8080 5012
# Node options for serving (src/server/gc-tuning.ts, SERVER_NODE_FLAGS): a young generation of 8 MB, and
# no memory reducer. They go on the command line: Node refuses --no-memory-reducer in NODE_OPTIONS.
ENTRYPOINT ["node", "--max-semi-space-size=8", "--no-memory-reducer", "/app/bin/armada.js"]
CMD ["leader", "--help"]
