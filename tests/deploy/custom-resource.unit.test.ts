import { describe, expect, it } from 'vitest';
import { answerCustomResource, type CustomResourceEvent, isCustomResourceEvent } from '../../shared/deploy/custom-resource.js';

const event = (RequestType: CustomResourceEvent['RequestType']): CustomResourceEvent => ({
  RequestType,
  ResponseURL: 'https://cloudformation-custom-resource-response.s3.amazonaws.com/presigned',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/ecommerce-pipeline-dev/1',
  RequestId: 'request-1',
  LogicalResourceId: 'Migrations',
  ResourceProperties: { ServiceToken: 'arn', MigrationsHash: 'abc' },
});

/** A response URL that records what was PUT there. */
function recorder(status = 200) {
  const sent: Array<{ url: string; init: RequestInit; body: any }> = [];
  const send = (async (url: string, init: RequestInit) => {
    sent.push({ url, init, body: JSON.parse(String(init.body)) });
    return new Response(null, { status });
  }) as typeof fetch;
  return { sent, send };
}

describe('answerCustomResource (the migrate step of a deploy)', () => {
  it('tells CloudFormation SUCCESS with the result, on the pre-signed URL, with no content type', async () => {
    const { sent, send } = recorder();
    await answerCustomResource(event('Create'), async () => ({ Applied: 6 }), {
      physicalResourceId: 'migrations',
      deadlineMs: 1_000,
      send,
    });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.url).toBe(event('Create').ResponseURL);
    expect(sent[0]!.init.method).toBe('PUT');
    expect(sent[0]!.init.headers).toEqual({ 'content-type': '' });
    expect(sent[0]!.init.signal).toBeInstanceOf(AbortSignal);
    expect(sent[0]!.body).toEqual({
      Status: 'SUCCESS',
      PhysicalResourceId: 'migrations',
      StackId: event('Create').StackId,
      RequestId: 'request-1',
      LogicalResourceId: 'Migrations',
      Data: { Applied: 6 },
    });
  });

  it('tells CloudFormation FAILED with the error when the migrations fail, so the deploy rolls back', async () => {
    const { sent, send } = recorder();
    const response = await answerCustomResource(
      event('Update'),
      async () => {
        throw new Error('relation "customers" already exists');
      },
      { physicalResourceId: 'migrations', deadlineMs: 1_000, send },
    );
    expect(response.Status).toBe('FAILED');
    expect(sent[0]!.body).toMatchObject({
      Status: 'FAILED',
      Reason: 'relation "customers" already exists',
      PhysicalResourceId: 'migrations',
    });
  });

  it('never hangs: FAILED at the deadline when the work does not finish', async () => {
    const { sent, send } = recorder();
    const started = Date.now();
    const response = await answerCustomResource(event('Create'), () => new Promise(() => {}), {
      physicalResourceId: 'migrations',
      deadlineMs: 50,
      send,
    });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(response).toMatchObject({ Status: 'FAILED', Reason: 'no result within 0 s' });
    expect(sent).toHaveLength(1);
  });

  it('tells the work it was given up on, and waits (bounded) for it to stop before answering', async () => {
    const { sent, send } = recorder();
    let stopped = false;
    await answerCustomResource(
      event('Update'),
      (signal) =>
        new Promise((_, reject) => {
          // A migration ending its session takes a moment after the abort.
          signal.addEventListener('abort', () =>
            setTimeout(() => {
              stopped = true;
              reject(signal.reason);
            }, 100),
          );
        }),
      { physicalResourceId: 'migrations', deadlineMs: 50, send, stopWaitMs: 2_000 },
    );
    expect(stopped).toBe(true);
    expect(sent).toHaveLength(1);
    // Work that ignores the signal delays the answer by stopWaitMs at most.
    const started = Date.now();
    await answerCustomResource(event('Update'), () => new Promise(() => {}), {
      physicalResourceId: 'migrations',
      deadlineMs: 50,
      send,
      stopWaitMs: 300,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('does nothing to the data on Delete (removing the stack), and answers SUCCESS', async () => {
    const { sent, send } = recorder();
    let ran = false;
    await answerCustomResource(
      event('Delete'),
      async () => {
        ran = true;
        return {};
      },
      { physicalResourceId: 'migrations', deadlineMs: 1_000, send },
    );
    expect(ran).toBe(false);
    expect(sent[0]!.body.Status).toBe('SUCCESS');
  });

  it('gives up on a response URL that does not answer, and reports one that refuses', async () => {
    const hanging = ((_url: string, init: RequestInit) =>
      new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch;
    await expect(
      answerCustomResource(event('Create'), async () => ({}), {
        physicalResourceId: 'm',
        deadlineMs: 1_000,
        send: hanging,
        putTimeoutMs: 50,
      }),
    ).rejects.toThrow(/timeout|aborted/i);
    const { send } = recorder(403);
    await expect(
      answerCustomResource(event('Create'), async () => ({}), { physicalResourceId: 'm', deadlineMs: 1_000, send }),
    ).rejects.toThrow(/answered 403/);
  });

  it('tells a CloudFormation request from a direct invocation', () => {
    expect(isCustomResourceEvent(event('Create'))).toBe(true);
    expect(isCustomResourceEvent({})).toBe(false);
    expect(isCustomResourceEvent({ RequestType: 'Create' })).toBe(false);
  });
});
