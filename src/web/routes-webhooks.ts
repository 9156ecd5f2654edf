/**
 * `POST /api/webhooks/{github,gitea,gitlab,generic}`: a verified push
 * becomes a ref-updated event on the global trigger queue, which the
 * schedulers route to pipelines. The body is kept raw until verified: the
 * signature covers the bytes, not a re-serialisation.
 */
import { MIN_WEBHOOK_SECRET } from '../config/daemon-web.js';
import { triggerEventCodec, type TriggerEvent } from '../model/index.js';
import { ZkEventQueue } from '../zk/index.js';
import type { WebApp, WebDeps } from './app.js';
import { WebBadRequestError, WebWebhookRejectedError } from './errors.js';
import { assertReady } from './routes-health.js';
import { withErrors } from './schemas.js';
import {
  deliveryId,
  parseDelivery,
  verifyDelivery,
  WEBHOOK_PROVIDERS,
  type WebhookProvider,
} from './webhooks.js';

/** Git servers send big pushes; fastify's 1 MiB default is too small for some. */
const WEBHOOK_BODY_LIMIT = 8 * 1024 * 1024;

const params = {
  type: 'object',
  required: ['provider'],
  properties: { provider: { type: 'string', enum: [...WEBHOOK_PROVIDERS] } },
} as const;

const accepted = {
  type: 'object',
  required: ['status'],
  properties: {
    status: { type: 'string', enum: ['queued', 'ignored'] },
    eventId: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

export function webhookRoutes(app: WebApp, deps: WebDeps): void {
  const queue = new ZkEventQueue<TriggerEvent>(
    deps.zk,
    deps.paths.triggerEvents(),
    triggerEventCodec,
  );
  // An encapsulated plugin, so the raw-body parser applies to these routes only.
  void app.register((hooks, _opts, done) => {
    hooks.removeAllContentTypeParsers();
    hooks.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
      (_req, body, next) => next(null, body),
    );
    hooks.post<{ Params: { provider: WebhookProvider }; Body: Buffer }>(
      '/api/webhooks/:provider',
      {
        config: { access: 'public' },
        schema: {
          params,
          description: 'verified by signature or secret, not by an API token',
          response: { ...withErrors(accepted), 202: accepted },
        },
      },
      async (request, reply) => {
        const { provider } = request.params;
        const secret = deps.webhooks?.[provider];
        // The config refuses short secrets; a caller that bypassed it must not get an open door.
        if (secret === undefined || secret.length < MIN_WEBHOOK_SECRET)
          throw new WebWebhookRejectedError(provider, 'not configured on this server', 404);
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        const why = verifyDelivery(provider, secret, body, request.headers);
        if (why !== null) throw new WebWebhookRejectedError(provider, why);
        if (!(request.headers['content-type'] ?? '').startsWith('application/json'))
          throw new WebBadRequestError('webhook bodies must be application/json', 415);
        let payload: unknown;
        try {
          payload = JSON.parse(body.toString('utf8'));
        } catch {
          throw new WebBadRequestError('the body is not valid JSON');
        }
        const parsed = parseDelivery(provider, payload, request.headers, body, Date.now());
        if (parsed.kind === 'invalid') throw new WebBadRequestError(parsed.reason);
        if (parsed.kind === 'ignored') return { status: 'ignored' as const, reason: parsed.reason };
        assertReady(deps);
        await queue.put(parsed.event);
        request.log.debug(
          {
            provider,
            event: parsed.event.id,
            delivery: deliveryId(provider, request.headers),
            ref: parsed.event.ref,
          },
          'webhook queued a trigger event',
        );
        return reply.code(202).send({ status: 'queued', eventId: parsed.event.id });
      },
    );
    done();
  });
}
