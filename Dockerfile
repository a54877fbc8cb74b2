# syntax=docker/dockerfile:1
# Build stage: compiler, cmake and the ONNX Runtime headers live here only.
FROM node:22-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake g++ make && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The image's npm (10) ignores package.json's allowScripts: skip onnxruntime-node's CUDA download by its own switch.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY native ./native
COPY CMakeLists.txt binding.gyp tsup.config.ts tsconfig.json ./
COPY src ./src
# tokenizers and ioredis are optional peers (dev dependencies in the lock file): the image needs them (the tokenizer;
# Redis as the replicas' shared cache), so they are put back after the prune at the versions package.json names.
RUN npm ci && \
    cp node_modules/onnxruntime-node/bin/napi-v6/linux/$(node -p process.arch)/libonnxruntime.so.1 build/Release/ && \
    npm prune --omit=dev --ignore-scripts && \
    npm install --no-save --ignore-scripts --no-audit --no-fund \
      "tokenizers@$(node -p "require('./package.json').devDependencies.tokenizers")" \
      "ioredis@$(node -p "require('./package.json').devDependencies.ioredis")" && \
    rm -rf deps build/CMakeFiles

# Runtime stage: Node, the built addon with libonnxruntime beside it, production dependencies. No compiler.
FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0 FASTEMBED_CACHE_DIR=/models LOG_LEVEL=info
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/build/Release/fastembed_native.node /app/build/Release/libonnxruntime.so.1 ./build/Release/
RUN mkdir -p /models && chown node:node /models
USER node
VOLUME ["/models"]
EXPOSE 8080
# Docker has one health state, so it asks what matters to it: started and still answering. /startup is 503 until
# every model has loaded (the start period allows 10 minutes for a first download; after it, a model that never
# loaded makes the container unhealthy) and 200 from then on, unless the process stops answering (a timeout).
# Not /ready: being busy (every slot taken) is no reason to call a container unhealthy.
HEALTHCHECK --interval=15s --timeout=3s --start-period=600s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/startup').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/cli.js", "serve"]
