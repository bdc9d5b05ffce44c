import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { isOpenAiPath, openAiErrorBody, problemDetailsBody } from './error-body';
import { toAppError } from './to-app-error';

const logger = new Logger('HttpError');

/** Writes any error in the shape of its route family: OpenAI envelope on `/v1`, problem+json elsewhere. */
export function sendError(exception: unknown, req: Request, res: Response): void {
  const error = toAppError(exception);
  if (error.status >= 500) {
    const cause = error.meta.cause ?? error;
    logger.error(
      { err: cause, code: error.code, path: req.path },
      `${req.method} ${req.path} failed: ${error.message}`,
    );
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(error.meta.headers ?? {})) res.setHeader(name, value);
  if (isOpenAiPath(req.path)) {
    res.status(error.status).json(openAiErrorBody(error));
  } else {
    res
      .status(error.status)
      .type('application/problem+json')
      .send(
        JSON.stringify(
          problemDetailsBody(
            error,
            req.originalUrl.split('?')[0],
            typeof req.id === 'string' ? req.id : '',
          ),
        ),
      );
  }
}

/** The one place HTTP learns about errors. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<Request>(), http.getResponse<Response>());
  }
}

/** Express error middleware for what fails before Nest routes a request (body parsing). */
export function expressErrorHandler(
  err: unknown,
  req: Request,
  res: Response,
  _next: NextFunction,
): void {
  sendError(err, req, res);
}
