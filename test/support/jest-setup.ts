import { killTrackedChildren } from './child-processes';

// After each test file: no server child outlives it, even when a test timed out mid-start.
afterAll(() => killTrackedChildren());
