// Lint for correctness, not taste: typescript-eslint's recommended rules plus the few
// that catch money and async bugs in this codebase.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'loadtest/k6/**', 'loadtest/results/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='query'] > ObjectExpression > Property[key.name='name']",
          message: 'Named prepared statements break under PgBouncer transaction mode: never pass `name:` to pg.',
        },
        {
          selector: "CallExpression[callee.name='parseFloat']",
          message: 'Money is bigint minor units: never parse it as a float.',
        },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
);
