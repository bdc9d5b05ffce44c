import { applyDecorators } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { METADATA_HEADER, SPAN_NAME_HEADER, TAGS_HEADER } from './observability-headers';

/** Documents the reference's observability headers on a route that starts a turn. */
export const ApiObservabilityHeaders = () =>
  applyDecorators(
    ApiHeader({
      name: SPAN_NAME_HEADER,
      required: false,
      description:
        "Names the turn's trace span (up to 128 of `A-Z a-z 0-9 . _ : / -`; keep it low-cardinality).",
    }),
    ApiHeader({
      name: TAGS_HEADER,
      required: false,
      description: 'Comma-separated tags for the trace spans and the log lines of this request.',
    }),
    ApiHeader({
      name: METADATA_HEADER,
      required: false,
      description:
        'A JSON object of strings, numbers and booleans (or lists of one kind) for the spans and logs, e.g. `{"run":42}`.',
    }),
  );
