/**
 * The one mapping from errors to HTTP answers: statuses and codes a client
 * can act on are kept, anything unexpected becomes a 500 that names only
 * the request id.
 */
import { describe, expect, it } from '@jest/globals';
import {
  OpsBusyError,
  OpsLastComponentError,
  OpsTimeoutError,
  OpsUnknownComponentError,
} from '../../src/ops/index.js';
import { toWebError } from '../../src/web/error-handler.js';
import { WebForbiddenError } from '../../src/web/index.js';
import { ZkConnectionLossError } from '../../src/zk/index.js';

const answer = (e: unknown) => {
  const w = toWebError(e, 'req-7');
  return { status: w.statusCode, code: w.code, message: w.message };
};

describe('toWebError', () => {
  it('keeps a WebError as it is', () => {
    expect(answer(new WebForbiddenError('admin', 'read'))).toEqual({
      status: 403,
      code: 'DRAWBRIDGE_ERR_WEB_FORBIDDEN',
      message: 'this needs the admin role; the credentials give read',
    });
  });

  it('serves refused operations with their own code: busy or last component 409, unknown 404', () => {
    expect(answer(new OpsBusyError('rr-1'))).toMatchObject({
      status: 409,
      code: 'DRAWBRIDGE_ERR_OPS_BUSY',
    });
    expect(answer(new OpsLastComponentError('scheduler', 's1', 'x'))).toMatchObject({
      status: 409,
      code: 'DRAWBRIDGE_ERR_OPS_LAST_COMPONENT',
    });
    expect(answer(new OpsUnknownComponentError('ex-9', 'not registered'))).toMatchObject({
      status: 404,
      code: 'DRAWBRIDGE_ERR_OPS_COMPONENT',
    });
  });

  it('turns ZooKeeper being away into a 503, anything else into a 500 without details', () => {
    expect(answer(new ZkConnectionLossError('/x'))).toMatchObject({ status: 503 });
    for (const e of [
      new Error('secret detail'),
      new OpsTimeoutError('s1', 1000, 'gone'),
      'a string',
    ])
      expect(answer(e)).toEqual({
        status: 500,
        code: 'DRAWBRIDGE_ERR_WEB_INTERNAL',
        message: 'internal error (request req-7; the server log has the details)',
      });
  });
});
