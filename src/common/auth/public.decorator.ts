import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:isPublic';

/** Opts a route out of the global session-key guard. Only health and docs use it. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
