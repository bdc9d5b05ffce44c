import { randomUUID } from 'node:crypto';
import { ConversationsRepository } from '../../src/conversations/conversations.repository';
import {
  ConversationsService,
  type BeginTurn,
} from '../../src/conversations/conversations.service';
import { stamp } from '../../src/conversations/turn-journal';
import { createTestApp, type TestApp } from '../support/create-test-app';

/**
 * A conversation named by the client's header is locked first and created only when missing.
 * When another request (or replica) creates it in between, this one must get 409
 * `conversation_busy`, as any request finding the turn running does, not 404.
 */
describe('beginTurn racing a concurrent creation of the same conversation', () => {
  let t: TestApp;
  let service: ConversationsService;
  let repo: ConversationsRepository;

  beforeAll(async () => {
    t = await createTestApp();
    service = t.app.get(ConversationsService);
    repo = t.app.get(ConversationsRepository);
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  it('answers conversation_busy when the row appears between the lock and the insert', async () => {
    const id = randomUUID();
    const input = { kind: 'user_message', source: 'user', payload: { text: 'hi' } } as const;
    const turn: BeginTurn = {
      conversationId: id,
      profileName: 'p',
      model: 'openai/gpt-4o-mini',
      create: { title: null, systemPromptSuffix: null, seed: [], ifMissing: true },
      input,
    };
    const findById = repo.findById.bind(repo);
    jest.spyOn(repo, 'findById').mockImplementationOnce(async (wanted) => {
      // the other request wins: it creates the conversation, holding its turn lock
      const row = {
        id,
        profileName: 'p',
        model: 'm',
        title: null,
        systemPromptSuffix: null,
        workspaceDir: '/tmp/x',
      };
      await repo.createLocked(row, 'another-replica', [stamp(input, 1)]);
      return findById(wanted).then(() => null); // …after this request looked
    });
    await expect(service.beginTurn(turn)).rejects.toMatchObject({
      code: 'conversations.conversation_busy',
    });
  });
});
