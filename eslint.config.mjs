// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'src/metadata.ts',
      'jest.config.js',
      'eslint.config.mjs',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false } },
      ],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  // Module boundaries (docs/architecture.md): a feature module reaches another only through its
  // top-level `*.service`, `*.module` or `*.types` files; everything else in a module is private.
  // common/, config/ and database/ are the base every module sits on; the sandbox program is
  // reached only through its wire protocol and path rules. Built per depth: a relative path
  // leaves the module after as many `../` as the importing file is deep. Tests may look inside.
  ...[1, 2, 3].map((depth) => ({
    files: [`src/*/${'*/'.repeat(depth - 1)}*.ts`],
    ignores: ['src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./){${depth}}(?!(common|config|database)/)(?!sandbox/(protocol|workspace-paths)$)[^/]+/(?![^/]+\\.(service|module|types)$).+$`,
              message:
                "Another module's private file: import its *.service, *.module or *.types file (docs/architecture.md).",
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    // Node scripts (scripts/*.mjs): the globals they use
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
