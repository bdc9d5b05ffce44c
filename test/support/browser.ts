import { findTool } from './system-tools';

/**
 * Debian's chromium, found on PATH (`apt-get install chromium`; .ci/run installs it when missing).
 * Suites that drive it are wrapped in `needs.chromium()` (system-tools.ts): skipped without it.
 */
export const CHROMIUM = findTool('chromium') ?? '/usr/bin/chromium';

/** The machine has no outside network: nothing may try to reach it. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
