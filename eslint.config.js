import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Arrows point one way: actions → domains → util. These rules keep them that way. */
const DOMAINS = ['github', 'aws', 'gcp', 'k8s', 'terraform', 'image', 'delivery', 'analysis', 'release'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'sandbox-output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      'no-console': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/actions/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/actions/**'], message: 'Domains never import an action entry.' }] },
      ],
    },
  },
  {
    files: ['src/util/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [...DOMAINS.map((d) => `**/${d}/**`), '**/actions/**', '@actions/*', '@aws-sdk/*'],
              message: 'util/ knows nothing domain-specific.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/delivery/**/*.ts', 'src/analysis/**/*.ts', 'src/release/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/aws/**', '**/gcp/**', '**/k8s/**', '@aws-sdk/*', '**/actions/**'],
              message: 'delivery/, analysis/ and release/ are cloud-neutral: take a Target or a provider instead.',
            },
          ],
        },
      ],
    },
  },
);
