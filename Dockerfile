# The bridge service image. Build: docker build -t django-jwt-bridge .
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
# No build tools (g++, make, python3) needed: the service's native dependencies, @node-rs/argon2 and
# @node-rs/bcrypt, install a prebuilt binary per platform and have no install scripts.
# The verifier and the browser client are workspace packages the service depends on: npm ci links
# and builds them from here (scripts/build-package.mjs). The examples' package.json files complete
# the workspace list of package-lock.json.
COPY packages ./packages
COPY examples/orders/package.json ./examples/orders/package.json
COPY examples/spa/package.json ./examples/spa/package.json
COPY scripts/prepare.mjs scripts/build-package.mjs scripts/copy-assets.mjs ./scripts/
COPY src ./src
# prepare builds dist/ of the verifier package and of the service.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/packages/verifier/package.json ./packages/verifier/package.json
COPY --from=build /app/packages/verifier/dist ./packages/verifier/dist
COPY --from=build /app/packages/browser/package.json ./packages/browser/package.json
COPY --from=build /app/packages/browser/dist ./packages/browser/dist
COPY --from=build /app/dist ./dist
COPY package.json ./
RUN mkdir -p /app/keys && chown node:node /app/keys
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/src/main.js"]
