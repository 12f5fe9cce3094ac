import { describe, expect, it } from 'vitest';
import { createAuthorizer, queueNameOf, stageWildcardArn } from '../../functions/authorizer/handler.ts';
import { localSqsClient } from '../helpers/engines.ts';
import { authorizerEvent, authorizerSettings, countCalls, createQueue, fillQueue } from '../helpers/ingress.ts';

describe('depth-check authorizer on the embedded SQS engine', () => {
  it('makes one GetQueueAttributes call for 1,000 concurrent decisions within the TTL', async () => {
    // GIVEN an authorizer on a real queue, with a clock that does not move
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-count');
    const calls = countCalls(sqs);
    const authorize = createAuthorizer({ settings: authorizerSettings(), queues: { queueUrl }, sqs, now: () => 1000 });

    // WHEN
    const results = await Promise.all(Array.from({ length: 1000 }, () => authorize(authorizerEvent())));

    // THEN
    expect(calls.get('GetQueueAttributesCommand')).toBe(1);
    expect(results.every((result) => result.policyDocument.Statement[0]?.Effect === 'Allow')).toBe(true);
  });

  it('makes at most one GetQueueAttributes call per queue per TTL with N stages watched', async () => {
    // GIVEN an ingress queue and 5 downstream stages, and a clock under test control
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-n');
    const stages = ['b', 'c', 'd', 'e', 'f'];
    const downstreamQueueUrls = await Promise.all(stages.map((stage) => createQueue(sqs, `authz-n-${stage}`)));
    const calls = countCalls(sqs);
    let now = 0;
    const authorize = createAuthorizer({
      settings: authorizerSettings({
        downstream: stages.map((stage) => ({ stage, depthLimit: 8, ageSloSeconds: 60, drainRatePerSecond: 2 })),
      }),
      queues: { queueUrl, downstreamQueueUrls },
      sqs,
      now: () => now,
    });

    // WHEN 2 rounds of 500 concurrent decisions within one TTL, then one round after it
    for (const at of [0, 999, 1000]) {
      now = at;
      await Promise.all(Array.from({ length: 500 }, () => authorize(authorizerEvent())));
    }

    // THEN each of the 6 queues was read once per TTL: twice
    expect(calls.get('GetQueueAttributesCommand')).toBe(2 * (1 + stages.length));
  });

  it('rejects when only the last stage is over its limit, naming it and its drain estimate', async () => {
    // GIVEN an empty ingress queue, an empty middle stage and a last stage holding 10 against a limit of 8 (2/s)
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-last');
    const middle = await createQueue(sqs, 'authz-last-mid');
    const last = await createQueue(sqs, 'authz-last-end');
    await fillQueue(sqs, last, 10);
    const authorize = createAuthorizer({
      settings: authorizerSettings({
        downstream: [
          { stage: 'middle', depthLimit: 8, ageSloSeconds: 60, drainRatePerSecond: 2 },
          { stage: 'last', depthLimit: 8, ageSloSeconds: 60, drainRatePerSecond: 2 },
        ],
      }),
      queues: { queueUrl, downstreamQueueUrls: [middle, last] },
      sqs,
    });

    // WHEN
    const result = await authorize(authorizerEvent());

    // THEN (10 - 8 + 1) / 2 → 2 s
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(result.context).toEqual({
      status: 503,
      reason: 'downstream-over-limit',
      stage: 'last',
      retryAfterSeconds: 2,
      depth: 0,
    });
  });

  it('fails if the downstream stages and their queue URLs do not pair up', () => {
    expect(() =>
      createAuthorizer({
        settings: authorizerSettings({
          downstream: [{ stage: 'b', depthLimit: 8, ageSloSeconds: 60, drainRatePerSecond: 2 }],
        }),
        queues: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/a', downstreamQueueUrls: [] },
      }),
    ).toThrow(/watches 1 downstream stages, but 0 downstream queue URLs were provided/);
  });

  it('reads again once the TTL has passed, and only once per TTL', async () => {
    // GIVEN a 1 s depth TTL and a clock under test control
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-ttl');
    const calls = countCalls(sqs);
    let now = 0;
    const authorize = createAuthorizer({ settings: authorizerSettings(), queues: { queueUrl }, sqs, now: () => now });

    // WHEN 3 rounds of 200 concurrent decisions, 0 s, 0.999 s and 1 s after the first read
    for (const at of [0, 999, 1000]) {
      now = at;
      await Promise.all(Array.from({ length: 200 }, () => authorize(authorizerEvent())));
    }

    // THEN the first and the third round read SQS
    expect(calls.get('GetQueueAttributesCommand')).toBe(2);
  });

  it('sheds every request with 503 and Retry-After from the hard limit', async () => {
    // GIVEN 10 messages against a hard limit of 8, drained at 2/s: (10 - 8 + 1) / 2 → 2 s
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-hard');
    await fillQueue(sqs, queueUrl, 10);
    const authorize = createAuthorizer({ settings: authorizerSettings(), queues: { queueUrl }, sqs });

    // WHEN
    const result = await authorize(authorizerEvent());

    // THEN
    expect(result.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(result.context).toEqual({
      status: 503,
      reason: 'over-hard-limit',
      stage: 'ingress',
      retryAfterSeconds: 2,
      depth: 10,
    });
  });

  it('admits into the queue below the soft limit, naming the queue for the integration', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-ok');
    const authorize = createAuthorizer({ settings: authorizerSettings(), queues: { queueUrl }, sqs });

    // WHEN
    const result = await authorize(authorizerEvent());

    // THEN
    expect(result.context).toEqual({
      lane: 'high',
      target: 'queue',
      queue: queueNameOf(queueUrl),
      retryAfterSeconds: 0,
      depth: 0,
    });
    expect((result.policyDocument.Statement[0] as { Resource?: string }).Resource).toBe(
      'arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*',
    );
  });

  it('sheds low priority first: between the soft and hard limits low is denied and high admitted', async () => {
    // GIVEN priority lanes, 3 messages on the high lane and 2 on the low lane (5: soft limit 4 ≤ 5 < hard limit 8)
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-high');
    const lowLaneQueueUrl = await createQueue(sqs, 'authz-low');
    await fillQueue(sqs, queueUrl, 3);
    await fillQueue(sqs, lowLaneQueueUrl, 2);
    const authorize = createAuthorizer({
      settings: authorizerSettings({ priorityEnabled: true }),
      queues: { queueUrl, lowLaneQueueUrl },
      sqs,
    });

    // WHEN
    const low = await authorize(authorizerEvent({ 'X-Sluice-Priority': 'low' }));
    const high = await authorize(authorizerEvent({ 'x-sluice-priority': 'high' }));

    // THEN
    expect(low.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(low.context).toMatchObject({ reason: 'shed-low-priority', depth: 5 });
    expect(high.context).toMatchObject({ lane: 'high', target: 'queue', queue: queueNameOf(queueUrl) });
  });

  it('admits high priority while only the low lane is over the hard limit', async () => {
    // GIVEN 9 messages on the low lane (hard limit 8) and 1 on the high lane
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-high');
    const lowLaneQueueUrl = await createQueue(sqs, 'authz-low');
    await fillQueue(sqs, queueUrl, 1);
    await fillQueue(sqs, lowLaneQueueUrl, 9);
    const authorize = createAuthorizer({
      settings: authorizerSettings({ priorityEnabled: true }),
      queues: { queueUrl, lowLaneQueueUrl },
      sqs,
    });

    // WHEN
    const high = await authorize(authorizerEvent({ 'x-sluice-priority': 'high' }));
    const low = await authorize(authorizerEvent({ 'x-sluice-priority': 'low' }));

    // THEN
    expect(high.context).toMatchObject({ lane: 'high', target: 'queue', depth: 10 });
    expect(low.context).toMatchObject({ reason: 'over-hard-limit' });
  });

  it('routes an admitted low-priority request to the low lane queue', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-high');
    const lowLaneQueueUrl = await createQueue(sqs, 'authz-low');
    const authorize = createAuthorizer({
      settings: authorizerSettings({ priorityEnabled: true, defaultLane: 'low' }),
      queues: { queueUrl, lowLaneQueueUrl },
      sqs,
    });

    // WHEN a request without the header (default lane: low)
    const result = await authorize(authorizerEvent());

    // THEN
    expect(result.context).toMatchObject({ lane: 'low', queue: queueNameOf(lowLaneQueueUrl) });
  });

  it('routes to the overflow queue from the hard limit with the buffer policy', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-main');
    const overflowQueueUrl = await createQueue(sqs, 'authz-overflow');
    await fillQueue(sqs, queueUrl, 8);
    const authorize = createAuthorizer({
      settings: authorizerSettings({ overload: 'buffer' }),
      queues: { queueUrl, overflowQueueUrl },
      sqs,
    });

    // WHEN
    const result = await authorize(authorizerEvent());

    // THEN
    expect(result.context).toMatchObject({ target: 'overflow', queue: queueNameOf(overflowQueueUrl) });
  });

  it('rejects with the buffer policy once the overflow queue holds its maximum', async () => {
    // GIVEN
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-main');
    const overflowQueueUrl = await createQueue(sqs, 'authz-overflow');
    await fillQueue(sqs, queueUrl, 8);
    await fillQueue(sqs, overflowQueueUrl, 3);
    const authorize = createAuthorizer({
      settings: authorizerSettings({ overload: 'buffer', overflowMaxDepth: 3 }),
      queues: { queueUrl, overflowQueueUrl },
      sqs,
    });

    // WHEN
    const result = await authorize(authorizerEvent());

    // THEN
    expect(result.context).toMatchObject({ reason: 'overflow-full', status: 503 });
  });

  it('fails open on zero depth when the queue cannot be read, and retries only after the TTL', async () => {
    // GIVEN a queue URL that does not exist
    const sqs = localSqsClient();
    const queueUrl = `${await createQueue(sqs, 'authz-real')}-missing`;
    const calls = countCalls(sqs);
    const authorize = createAuthorizer({ settings: authorizerSettings(), queues: { queueUrl }, sqs, now: () => 5 });

    // WHEN
    const results = await Promise.all(Array.from({ length: 50 }, () => authorize(authorizerEvent())));

    // THEN
    expect(results.every((result) => result.policyDocument.Statement[0]?.Effect === 'Allow')).toBe(true);
    expect(calls.get('GetQueueAttributesCommand')).toBe(1);
  });

  it('never sheds a status read, even over the hard limit', async () => {
    // GIVEN a full queue
    const sqs = localSqsClient();
    const queueUrl = await createQueue(sqs, 'authz-get');
    await fillQueue(sqs, queueUrl, 10);
    const authorize = createAuthorizer({ settings: authorizerSettings(), queues: { queueUrl }, sqs });

    // WHEN
    const post = await authorize(authorizerEvent());
    const get = await authorize({ ...authorizerEvent(), httpMethod: 'GET' });

    // THEN
    expect(post.policyDocument.Statement[0]?.Effect).toBe('Deny');
    expect(get.policyDocument.Statement[0]?.Effect).toBe('Allow');
  });

  it('fails if the buffer policy has no overflow queue', () => {
    expect(() =>
      createAuthorizer({
        settings: authorizerSettings({ overload: 'buffer' }),
        queues: { queueUrl: 'http://x/q' },
        sqs: localSqsClient(),
      }),
    ).toThrow(/overload policy is buffer, but no overflow queue URL was provided/);
  });
});

describe('authorizer helpers', () => {
  it('widens a method ARN to every method of its stage', () => {
    expect(stageWildcardArn('arn:aws:execute-api:us-east-1:1:api/v1/GET/jobs/abc')).toBe(
      'arn:aws:execute-api:us-east-1:1:api/v1/*',
    );
  });
});
