// The request shapes the Responses API maps its input onto (chat messages and their parts).
export type { ChatMessageDto, ContentPart } from './dto/create-chat-completion.dto';
