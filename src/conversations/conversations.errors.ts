import { AppError } from '../common/errors/app-error';

export const conversationNotFound = (id: string) =>
  new AppError(
    'not_found',
    'conversations.conversation_not_found',
    `Conversation ${id} was not found.`,
    { id },
  );

export const conversationBusy = (id: string) =>
  new AppError(
    'conflict',
    'conversations.conversation_busy',
    `Conversation ${id} is running a turn; wait for it to finish or cancel it (POST /api/conversations/${id}/cancel).`,
    { id, headers: { 'Retry-After': '1' } },
  );

export const shuttingDown = () =>
  new AppError(
    'unavailable',
    'conversations.shutting_down',
    'This server is shutting down and starts no new turns; retry on another replica or after the restart.',
    { headers: { 'Retry-After': '1' } },
  );

export const invalidPageId = (pageId: string) =>
  new AppError(
    'invalid',
    'conversations.invalid_page_id',
    `page_id '${pageId}' is not a valid cursor.`,
    {
      param: 'page_id',
    },
  );
