import { CreateLlmProfiles1795600000000 } from './migrations/1795600000000-create-llm-profiles';

/** Every migration, in order. Imported as classes so the built app and the tests run the same list. */
export const MIGRATIONS = [CreateLlmProfiles1795600000000];
