// Strict TypeScript lint, React hooks rules, and the import boundaries of bulletproof-react:
// shared (src/lib, src/components) -> features -> app, never across features.
import tseslint from 'typescript-eslint';
import importPlugin from 'eslint-plugin-import';
import reactHooks from 'eslint-plugin-react-hooks';

const features = ['auth', 'runs', 'pipelines', 'studies', 'models', 'metrics'];

export default tseslint.config(
  { ignores: ['dist', 'node_modules', 'e2e', 'bench', '*.config.*'] },
  ...tseslint.configs.recommended,
  {
    files: ['src/**/*.{ts,tsx}'],
    plugins: { import: importPlugin, 'react-hooks': reactHooks },
    settings: { 'import/resolver': { typescript: true, node: true } },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'no-restricted-globals': ['error', { name: 'fetch', message: 'Use the API client (src/lib/api-client.ts).' }],
      'import/no-restricted-paths': [
        'error',
        {
          zones: [
            ...features.map((f) => ({
              target: `./src/features/${f}`,
              from: './src/features',
              except: [`./${f}`],
              message: 'A feature imports only shared code (src/lib, src/components), never another feature.',
            })),
            { target: './src/features', from: './src/app', message: 'Features never import the app.' },
            { target: ['./src/lib', './src/components'], from: ['./src/features', './src/app'], message: 'Shared code imports no feature and no app code.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/lib/api-client.ts', 'src/**/*.test.{ts,tsx}'],
    rules: { 'no-restricted-globals': 'off' },
  },
);
