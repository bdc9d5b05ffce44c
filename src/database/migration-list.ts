import { CreateLlmProfiles1795600000000 } from './migrations/1795600000000-create-llm-profiles';
import { CreateConversations1795700000000 } from './migrations/1795700000000-create-conversations';
import { IndexRunningConversations1795800000000 } from './migrations/1795800000000-index-running-conversations';
import { CreateResponses1796120000000 } from './migrations/1796120000000-create-responses';
import { TurnFencing1796200000000 } from './migrations/1796200000000-turn-fencing';
import { CreateIdempotencyKeys1796300000000 } from './migrations/1796300000000-create-idempotency-keys';

/** Every migration, in order. Imported as classes so the built app and the tests run the same list. */
export const MIGRATIONS = [
  CreateLlmProfiles1795600000000,
  CreateConversations1795700000000,
  IndexRunningConversations1795800000000,
  CreateResponses1796120000000,
  TurnFencing1796200000000,
  CreateIdempotencyKeys1796300000000,
];
