import type { INestApplication } from '@nestjs/common';

export interface RegisteredRoute {
  /** Upper case, e.g. `GET`. */
  method: string;
  /** Express syntax, e.g. `/api/profiles/:name`. */
  path: string;
}

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

/**
 * Every route the running application registered with Express: the controllers' routes and the
 * Swagger UI / document routes, read from the router itself so nothing can hide from the walk.
 * `/{*path}` entries that accept every method are middleware Nest mounts for all routes
 * (nestjs-pino), not endpoints; an unknown path is proven to answer 404 separately.
 */
export function registeredRoutes(app: INestApplication): RegisteredRoute[] {
  const express = app.getHttpAdapter().getInstance() as { router: { stack: Layer[] } };
  return express.router.stack.flatMap(({ route }) => {
    if (!route) return [];
    const methods = Object.keys(route.methods).filter((m) => route.methods[m]);
    if (route.path === '/{*path}' && methods.length > 20) return [];
    return methods.map((method) => ({ method: method.toUpperCase(), path: route.path }));
  });
}

/** A concrete URL path for a route: parameters get a syntactically valid sample value. */
export function samplePath(path: string): string {
  return path.replace(/:(\w+)/g, (_, name: string) =>
    /id$/i.test(name) ? '6f1c1c9e-3c1a-4c8e-9d61-0a3c0b1e2f40' : 'probe',
  );
}

export const routeKey = (r: RegisteredRoute) => `${r.method} ${r.path}`;
