import { HttpStatus, RequestMethod } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { ApiResponse } from '@nestjs/swagger';

/** `DECORATORS.API_RESPONSE` of @nestjs/swagger (not exported from its entry point). */
const API_RESPONSE = 'swagger/apiResponse';

type ControllerMetadata = Record<string, Record<string, Record<string, unknown>>>;
type PluginControllers = [Promise<Record<string, unknown>>, ControllerMetadata][];

/**
 * Gives every route its success response from the generated plugin metadata (`src/metadata.ts`).
 *
 * `nest build` runs the @nestjs/swagger plugin, which adds `@ApiResponse({ status: 200, type })`
 * beside a route's own response decorators. Loaded from `metadata.ts` instead (jest, @swc), the
 * same information is applied with `overrideExisting: false`, so a route that declares any
 * response itself (`@ApiNotFoundResponse`, …) silently loses its 200 and its schema. This applies
 * it the way the build does; where the build already did (or a route declares that status
 * itself), it changes nothing. Tests and production then serve the same document.
 */
export async function applyPluginResponses(
  metadata: () => Promise<Record<string, unknown>>,
): Promise<void> {
  const generated = (await metadata())['@nestjs/swagger'] as
    { controllers?: PluginControllers } | undefined;
  const controllers = generated?.controllers ?? [];
  for (const [load, classes] of controllers) {
    const exports = await load;
    for (const [className, methods] of Object.entries(classes)) {
      const prototype = (exports[className] as { prototype?: object } | undefined)?.prototype;
      if (!prototype) continue;
      for (const [methodName, meta] of Object.entries(methods)) {
        const { summary: _s, deprecated: _d, tags: _t, ...response } = meta;
        const descriptor = Object.getOwnPropertyDescriptor(prototype, methodName);
        const handler: unknown = descriptor?.value;
        if (!descriptor || typeof handler !== 'function' || !('type' in response)) continue;
        const status = statusOf(handler);
        const declared = Reflect.getMetadata(API_RESPONSE, handler) as
          Record<string, unknown> | undefined;
        if (declared?.[status] !== undefined) continue;
        ApiResponse({ status, ...response })(prototype, methodName, descriptor);
      }
    }
  }
}

/** The status Nest answers with: `@HttpCode`, else 201 for POST and 200 for the rest. */
function statusOf(handler: object): number {
  const code = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
  if (code) return code;
  const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
  return method === RequestMethod.POST ? HttpStatus.CREATED : HttpStatus.OK;
}
