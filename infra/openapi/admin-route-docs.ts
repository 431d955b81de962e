/** What the document says of each operators' route over dead letters. */
import { DeadLetterListQuery } from '#domain/dead-letter.ts';
import type { ADMIN_ROUTES } from '../http-api.ts';
import { EXAMPLE_DEAD_LETTER, EXAMPLE_LETTER_ID } from './examples.ts';
import type { RouteDoc } from './route-doc.ts';

/**
 * What the document says of every admin route. Typed by the route list of
 * infra/http-api.ts, so a route added there without documentation fails to compile.
 */
export const ADMIN_ROUTE_DOCS: Readonly<
  Record<(typeof ADMIN_ROUTES)[number], RouteDoc>
> = {
  'GET /dead-letters': {
    summary: 'List dead letters',
    description:
      'Pages of stored dead letters, filtered by status and/or original topic; sorted by time, newest first, only when filtered by status (docs/domain.md section 7).',
    tag: 'dead-letters',
    query: DeadLetterListQuery,
    success: {
      200: {
        description: 'A page; pass `cursor` to get the next one.',
        schema: 'DeadLetterPage',
        example: { items: [EXAMPLE_DEAD_LETTER], cursor: null },
      },
    },
    failures: {
      400: {
        description: 'A query parameter is not valid.',
        problems: ['validation', 'invalid-cursor'],
      },
    },
    callsDependencies: true,
  },
  'GET /dead-letters/{id}': {
    summary: 'Show a dead letter',
    description:
      'The letter: the original record (key and value also as text where UTF-8), the error, its history and lineage.',
    tag: 'dead-letters',
    success: {
      200: {
        description: 'The dead letter.',
        schema: 'DeadLetterView',
        example: EXAMPLE_DEAD_LETTER,
      },
    },
    failures: {
      404: {
        description: 'No such dead letter.',
        problems: ['dead-letter-not-found', 'route-not-found'],
      },
    },
    callsDependencies: true,
  },
  'POST /dead-letters/{id}/redrive': {
    summary: 'Redrive a dead letter',
    description:
      'Sends the original record (or a corrected value) back to its topic and marks the letter REDRIVEN. A corrected value for one of our topics must pass the event schema. The body is optional.',
    tag: 'dead-letters',
    body: {
      schema: 'RedriveRequest',
      required: false,
      description:
        'Optional: `value`, the JSON to send instead of the original; `note`, up to 500 characters.',
      examples: {
        asIs: { summary: 'As it was, with a note', value: { note: 'retry' } },
        corrected: {
          summary: 'With a corrected value',
          value: {
            value: { eventId: '…the corrected event…' },
            note: 'fixed by hand',
          },
        },
      },
    },
    success: {
      200: {
        description: 'Redriven: the letter, as `GET` shows it.',
        schema: 'DeadLetterView',
      },
    },
    failures: {
      400: {
        description:
          'The body is not JSON or not valid; or the corrected value breaks the event contract.',
        problems: ['invalid-json', 'validation'],
      },
      404: {
        description: 'No such dead letter.',
        problems: ['dead-letter-not-found', 'route-not-found'],
      },
      409: {
        description:
          'Not SCHEDULED or PARKED, or there is no value to send (send a corrected one).',
        problems: ['invalid-state'],
      },
      415: {
        description: 'A body that is not `application/json`.',
        problems: ['unsupported-media-type'],
      },
    },
    callsDependencies: true,
  },
  'POST /dead-letters/redrive': {
    summary: 'Redrive many dead letters',
    description:
      'Redrives each id in turn; one that cannot be redriven is reported in `results` and the others go on.',
    tag: 'dead-letters',
    body: {
      schema: 'RedriveManyRequest',
      required: true,
      description: '1 to 100 ids, and an optional note.',
      examples: {
        two: {
          summary: 'Two letters',
          value: {
            ids: [EXAMPLE_LETTER_ID, 'order.placed.v1.dead-letter:0:43'],
            note: 'after the fix of 15 Jan',
          },
        },
      },
    },
    success: {
      200: {
        description: 'One result per id.',
        schema: 'RedriveManyResponse',
        example: {
          results: [
            { id: EXAMPLE_LETTER_ID, status: 'REDRIVEN' },
            {
              id: 'order.placed.v1.dead-letter:0:43',
              error: 'Not found',
              detail: 'no dead letter order.placed.v1.dead-letter:0:43',
            },
          ],
        },
      },
    },
    failures: {
      400: {
        description:
          'The body is not JSON or not valid (an id that is not `<topic>:<partition>:<offset>`).',
        problems: ['invalid-json', 'validation'],
      },
      415: {
        description: 'Not `application/json`.',
        problems: ['unsupported-media-type'],
      },
    },
    callsDependencies: true,
  },
  'POST /dead-letters/{id}/discard': {
    summary: 'Discard a dead letter',
    description:
      'Marks a SCHEDULED or PARKED letter DISCARDED, with the reason in its history. Nothing is deleted.',
    tag: 'dead-letters',
    body: {
      schema: 'DiscardRequest',
      required: true,
      description: 'Why: 1-500 characters.',
      examples: {
        testData: { summary: 'A reason', value: { reason: 'test data' } },
      },
    },
    success: {
      200: {
        description: 'Discarded: the letter, as `GET` shows it.',
        schema: 'DeadLetterView',
      },
    },
    failures: {
      400: {
        description: 'The body is not JSON, or has no valid reason.',
        problems: ['invalid-json', 'validation'],
      },
      404: {
        description: 'No such dead letter.',
        problems: ['dead-letter-not-found', 'route-not-found'],
      },
      409: {
        description: 'Not SCHEDULED or PARKED.',
        problems: ['invalid-state'],
      },
      415: {
        description: 'Not `application/json`.',
        problems: ['unsupported-media-type'],
      },
    },
    callsDependencies: true,
  },
};
