import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'build/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }
      ],
      'no-restricted-imports': [
        'error',
        {
          paths: ['child_process', 'node:child_process'].map(name => ({
            name,
            message:
              'Run processes only through the command layer (src/kube/exec-command-runner.ts, and its kubectl proxy in api-proxy.ts).'
          }))
        }
      ]
    }
  },
  {
    files: [
      'src/kube/exec-command-runner.ts',
      'src/kube/api-proxy.ts',
      'test/**',
      'scripts/**',
      'testbed/**',
      'bench/**'
    ],
    rules: { 'no-restricted-imports': 'off' }
  }
)
