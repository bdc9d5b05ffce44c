import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';

export const SESSION_KEY_SCHEME = 'session-key';
export const BEARER_SCHEME = 'bearer';

/** Declares, for Swagger, that a controller takes either session-key scheme. */
export const ApiSessionAuth = () =>
  applyDecorators(
    ApiSecurity(SESSION_KEY_SCHEME),
    ApiBearerAuth(BEARER_SCHEME),
    ApiUnauthorizedResponse({ description: 'Missing or invalid session key.' }),
  );
