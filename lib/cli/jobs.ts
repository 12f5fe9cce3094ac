import { toJobRecord } from '../../functions/runtime/job-status.ts';
import { JOB_STATES } from '../definition/index.ts';
import { opsClients } from '../ops/clients.ts';
import { OpsError } from '../ops/errors.ts';
import { getJobRecord, isJobState, listJobs, parseDuration } from '../ops/jobs.ts';
import { defineCommand } from './command.ts';
import { UsageError } from './errors.ts';
import { clientSettings, reportingOpsErrors, resolveResources, TARGET_HELP, TARGET_OPTIONS } from './status.ts';

/** `sluice jobs get | list`. */
export const jobsCommand = defineCommand({
  name: 'jobs',
  summary: 'job records: get one by id, or list them by state since a time',
  description: [
    'get <id>   the job’s record: state, stage, attempts, last error, timestamps (exit code 1 when there is none)',
    `list       jobs newest first, by --status (${JOB_STATES.join(', ')}) and --since (30s, 15m, 1h, 2d). The job`,
    '           table is keyed by job id only, so a listing scans it (DynamoDB bills every item scanned) and stops',
    '           after --max-scan items, saying so',
    TARGET_HELP,
  ].join('\n'),
  positionals: '<get ID | list>',
  options: {
    status: { type: 'string', value: 'STATE', description: 'list only jobs in this state' },
    since: { type: 'string', value: 'AGE', description: 'list only jobs updated within this age, e.g. 1h' },
    limit: { type: 'string', value: 'N', description: 'jobs listed at most', default: '50' },
    'max-scan': { type: 'string', value: 'N', description: 'items scanned at most', default: '100000' },
    json: { type: 'boolean', description: 'JSON instead of text' },
    ...TARGET_OPTIONS,
  },
  examples: [
    'sluice jobs get 01JD3Z… --stack Documents',
    'sluice jobs list --status failed --since 1h --stack Documents',
  ],
  run: async (values, positionals) => {
    const [action] = positionals;
    if (action === undefined) throw new UsageError('say what to do: sluice jobs get <id> | sluice jobs list');
    const ids = positionals.slice(1);
    if (action !== 'get' && action !== 'list')
      throw new UsageError(`unknown action '${action}'; the actions are: get, list`);
    if (action === 'get' && ids.length !== 1) throw new UsageError('jobs get takes one job id: sluice jobs get <id>');
    if (values.status !== undefined && !isJobState(values.status)) {
      throw new UsageError(`--status must be one of ${JOB_STATES.join(', ')}, but '${values.status}' was provided`);
    }
    const count = (flag: string, text: string | undefined, fallback: number) => {
      if (text === undefined) return fallback;
      const value = Number(text);
      if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
        throw new UsageError(`${flag} must be an integer between 1 and 1000000, but '${text}' was provided`);
      }
      return value;
    };
    const limit = count('--limit', values.limit, 50);
    const maxScanned = count('--max-scan', values['max-scan'], 100_000);
    let sinceMs: number | undefined;
    try {
      sinceMs = values.since === undefined ? undefined : Date.now() - parseDuration(values.since);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    await reportingOpsErrors(async () => {
      const clients = opsClients(clientSettings(values));
      try {
        const resources = await resolveResources(clients, values);
        if (!resources.jobTable) {
          throw new OpsError(
            `pipeline ${resources.pipeline} has no job table; turn on jobs: { enabled: true } in its definition`,
          );
        }
        if (action === 'get') {
          const id = ids[0] as string;
          const job = await getJobRecord(clients.dynamo, resources.jobTable, id, toJobRecord);
          if (!job)
            throw new OpsError(`no job ${id} in table ${resources.jobTable} (records expire after the table's TTL)`);
          console.log(values.json ? JSON.stringify(job, null, 2) : formatJob(job));
          return;
        }
        const result = await listJobs(
          clients.dynamo,
          resources.jobTable,
          {
            ...(values.status ? { state: values.status as never } : {}),
            ...(sinceMs === undefined ? {} : { sinceMs }),
            limit,
            maxScanned,
          },
          toJobRecord,
        );
        if (values.json) {
          console.log(JSON.stringify(result, null, 2));
          return;
        }
        console.log(
          [
            ...result.jobs.map(
              (job) =>
                `${job.jobId}  ${job.state.padEnd(13)} ${(job.stage ?? '').padEnd(12)} ${new Date(job.updatedAt).toISOString()}  ${job.lastError ? `${job.lastError.class}: ${job.lastError.message}` : ''}`,
            ),
            `${result.jobs.length} job(s); scanned ${result.scanned} item(s)${result.truncated ? ` and stopped at --max-scan ${maxScanned}: there may be more` : ''}`,
          ].join('\n'),
        );
      } finally {
        clients.destroy();
      }
    });
  },
});

function formatJob(job: ReturnType<typeof toJobRecord>): string {
  const time = (ms: number | undefined) => (ms === undefined ? '–' : new Date(ms).toISOString());
  return [
    `job ${job.jobId}: ${job.state}${job.stage ? ` (stage ${job.stage})` : ''}, ${job.attempts} attempt(s)`,
    ...(job.lastError ? [`last error  ${job.lastError.class}: ${job.lastError.message}`] : []),
    `accepted    ${time(job.acceptedAt)}`,
    `started     ${time(job.startedAt)}`,
    `updated     ${time(job.updatedAt)}`,
    ...(job.completedAt ? [`completed   ${time(job.completedAt)}`] : []),
    ...(job.deadLetteredAt ? [`dead-lettered ${time(job.deadLetteredAt)}`] : []),
  ].join('\n');
}
