/**
 * A workaround, for the test harness only, for a defect of fauxqs 2.4.1 with its data on disk (`dataDir`): setting a
 * received message's visibility timeout to 0 loses the message.
 *
 * fauxqs's queue first drops the message from its in-flight set, then asks its SQLite persistence to mark it ready
 * (`PersistenceManager.updateMessageReady`), which writes NULL into `approximate_receive_count`, a NOT NULL column. The
 * write throws, the request fails, and the message is never put back in the ready list: no receive sees it again and
 * the queue counts it neither visible nor in flight. SQS makes such a message visible to other consumers at once
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html: "to terminate
 * the visibility timeout … specify 0 for the VisibilityTimeout parameter"), and it keeps the message's receive count,
 * which its redrive policy counts against `maxReceiveCount`
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
 *
 * The replacement clears only the in-flight fields (receipt handle and visibility deadline) and leaves the receive
 * count as it is, so a restart reloads the message as ready with the count SQS would report. Reproduced against fauxqs
 * alone in test/local/fauxqs-persistence.test.ts; see docs/reliability.md.
 */

interface PersistenceManagerInstance {
  readonly db: { prepare(sql: string): { run(...values: unknown[]): unknown } };
}

interface PersistenceManagerClass {
  prototype: { updateMessageReady(this: PersistenceManagerInstance, messageId: string): void };
}

const patched = Symbol.for('sluice.test.fauxqs-visibility-reset');
const statements = new WeakMap<PersistenceManagerInstance, { run(...values: unknown[]): unknown }>();
let resets = 0;

/** Messages this process's fauxqs handed back with visibility 0 (each one fauxqs 2.4.1 would have lost). */
export function visibilityResets(): number {
  return resets;
}

/**
 * Makes every fauxqs persistence in this process keep a message whose visibility is set to 0. Idempotent; call it
 * before `startFauxqs({ dataDir })`. The module is the one fauxqs itself loads (same file URL), found next to fauxqs's
 * entry point because the package exports only that.
 */
export async function keepMessagesOnVisibilityReset(): Promise<void> {
  const url = new URL('./persistence.js', import.meta.resolve('fauxqs'));
  const { PersistenceManager } = (await import(url.href)) as { PersistenceManager: PersistenceManagerClass };
  const prototype = PersistenceManager.prototype as PersistenceManagerClass['prototype'] & { [patched]?: true };
  if (prototype[patched]) {
    return;
  }
  prototype.updateMessageReady = function updateMessageReady(messageId: string): void {
    let statement = statements.get(this);
    if (!statement) {
      statement = this.db.prepare(
        'UPDATE sqs_messages SET receipt_handle = NULL, visibility_deadline = NULL WHERE message_id = ?',
      );
      statements.set(this, statement);
    }
    statement.run(messageId);
    resets++;
  };
  prototype[patched] = true;
}
