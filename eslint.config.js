// @ts-check
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'packages/*/dist/**',
      'packages/*/node_modules/**',
      'test/fixtures/**',
      'examples/**/node_modules/**',
      // npm run demo's state (keys, the SPA bundle, logs) and the SPA's own build.
      '.demo/**',
      'examples/spa/dist/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
        Request: 'readonly',
        Response: 'readonly',
        Headers: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-ignore': true, 'ts-nocheck': true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The verifier is a leaf package shipped to downstream services, with zero dependencies:
    // node: built-ins and its own files only.
    files: ['packages/verifier/src/**/*.ts'],
    ignores: ['packages/verifier/src/redis.ts', 'packages/verifier/src/redis-subscriber.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|\\./).*',
              message: 'The verifier may import only node: built-ins and its own files.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/verifier/src/redis.ts', 'packages/verifier/src/redis-subscriber.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|\\./).*',
              message: "The revocation feed takes the caller's ioredis client; import types only.",
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // The service's django-jwt-bridge/verifier subpaths only re-export the verifier package.
    files: ['src/verifier/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!django-jwt-bridge-verifier(/redis|/websocket)?$).*',
              message: 'src/verifier only re-exports django-jwt-bridge-verifier.',
            },
          ],
        },
      ],
    },
  },
  {
    // Dependencies point one way: nothing below the composition root imports http/.
    files: ['src/django/**/*.ts', 'src/tokens/**/*.ts', 'src/store/**/*.ts', 'src/authn/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '(^|/)http(/|$)', message: 'Only app.ts composes http/.' },
            {
              regex: '(^|/)verifier(/|$)|^django-jwt-bridge-verifier',
              message: 'The service does not depend on the verifier.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/errors.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\.', message: 'errors is a leaf.' }] },
      ],
    },
  },
  {
    files: ['src/config/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./(?!errors\\.ts$|tokens/algs\\.ts$)',
              message: 'config imports only errors and the signing lists (tokens/algs.ts).',
            },
          ],
        },
      ],
    },
  },
  {
    // Only config/load.ts reads the environment.
    files: ['src/**/*.ts'],
    ignores: ['src/config/load.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration in src/config/load.ts only.',
        },
      ],
    },
  },
)
