/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true }, // Nest DI needs decorator metadata
      target: 'es2023',
      keepClassNames: true,
      baseUrl: __dirname,
      paths: { '@/*': ['src/*'] },
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];
module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  moduleFileExtensions: ['js', 'json', 'ts'],
  testRegex: '(src|test)/.*\\.(e2e-|int-)?spec\\.ts$',
  transform: { '^.+\\.(t|j)s$': swc },
  // src/metadata.ts imports './x.js' (module: nodenext); jest resolves the .ts source
  moduleNameMapper: { '^@/(.*)$': '<rootDir>/src/$1', '^(\\.{1,2}/.*)\\.js$': '$1' },
  // Boots PGlite once and hands every test app a copy of it (test/support/global-setup.ts)
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // After each file, kills server children a timed-out test left behind (they would hang jest)
  setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
  testTimeout: 60000,
};
