/**
 * The CloudFormation custom-resource protocol, for a function a deploy invokes (the migrate function,
 * infra/fresh-account.cjs): CloudFormation sends Create, Update or Delete with a pre-signed ResponseURL and waits
 * until the answer is PUT there. The deploy goes on on SUCCESS and rolls back on FAILED.
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html
 */
export interface CustomResourceEvent {
  RequestType: 'Create' | 'Update' | 'Delete';
  ResponseURL: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  PhysicalResourceId?: string;
  ResourceType?: string;
  ResourceProperties?: Record<string, unknown>;
}

export interface CustomResourceResponse {
  Status: 'SUCCESS' | 'FAILED';
  Reason?: string;
  PhysicalResourceId: string;
  StackId: string;
  RequestId: string;
  LogicalResourceId: string;
  Data?: Record<string, unknown>;
}

/** Whether an invocation came from CloudFormation (anything else is a direct invocation). */
export function isCustomResourceEvent(event: unknown): event is CustomResourceEvent {
  const e = event as Partial<CustomResourceEvent> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    ['Create', 'Update', 'Delete'].includes(e.RequestType as string) &&
    typeof e.ResponseURL === 'string' &&
    typeof e.StackId === 'string'
  );
}

export interface AnswerOptions {
  /** The resource's one id: the same on every answer, so an Update never makes CloudFormation delete "the old one". */
  physicalResourceId: string;
  /** Answer FAILED after this long rather than let CloudFormation wait out its own timeout. */
  deadlineMs: number;
  /** The PUT (global fetch; tests pass their own). */
  send?: typeof fetch;
  /** How long the PUT itself may take. */
  putTimeoutMs?: number;
  /**
   * How long work given up on (its signal aborted) may take to stop before the answer is sent and Lambda
   * freezes the function with whatever is still under way; within the caller's margin (default: no wait).
   */
  stopWaitMs?: number;
}

/** CloudFormation takes a response of at most 4 KB: the reason is the first line or so of the error. */
const REASON_CHARS = 1_000;

/**
 * Runs `work` on Create and Update — never on Delete: a deploy removing the resource (or the stack) must
 * not touch data — and PUTs SUCCESS with its result as `Data`, or FAILED with the error's message. Gives
 * up with FAILED at `deadlineMs` (aborting `work`'s signal), so a run that hangs fails the deploy in minutes.
 * Returns what was sent.
 */
export async function answerCustomResource(
  event: CustomResourceEvent,
  work: (signal: AbortSignal) => Promise<Record<string, unknown>>,
  { physicalResourceId, deadlineMs, send = fetch, putTimeoutMs = 10_000, stopWaitMs = 0 }: AnswerOptions,
): Promise<CustomResourceResponse> {
  const base = {
    PhysicalResourceId: physicalResourceId,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  };
  let response: CustomResourceResponse;
  if (event.RequestType === 'Delete') {
    response = { ...base, Status: 'SUCCESS' };
  } else {
    let timer: NodeJS.Timeout | undefined;
    // Given up on, the work is told so: a migration then ends its session rather than keep its locks in a
    // function that Lambda freezes once the answer is sent.
    const givenUp = new AbortController();
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          const error = new Error(`no result within ${Math.round(deadlineMs / 1000)} s`);
          givenUp.abort(error);
          reject(error);
        },
        Math.max(0, deadlineMs),
      );
    });
    const running = work(givenUp.signal);
    try {
      response = { ...base, Status: 'SUCCESS', Data: await Promise.race([running, deadline]) };
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      response = { ...base, Status: 'FAILED', Reason: reason.slice(0, REASON_CHARS) };
    } finally {
      clearTimeout(timer);
    }
    if (givenUp.signal.aborted && stopWaitMs > 0) {
      await Promise.race([running.catch(() => {}), new Promise((resolve) => setTimeout(resolve, stopWaitMs))]);
    }
  }
  // The URL is pre-signed without a content type: send none (fetch would add text/plain). Bounded: an
  // answer that never arrives would leave the deploy waiting for the resource's ServiceTimeout.
  const put = await send(event.ResponseURL, {
    method: 'PUT',
    body: JSON.stringify(response),
    headers: { 'content-type': '' },
    signal: AbortSignal.timeout(putTimeoutMs),
  });
  if (!put.ok) throw new Error(`CloudFormation's response URL answered ${put.status}`);
  return response;
}
