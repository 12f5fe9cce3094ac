import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { COMMANDS, main, packageVersion } from '../../lib/cli/main.ts';
import { unsupportedNodeMessage } from '../../lib/local/node-version.ts';

function captureOutput() {
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
  const text = (spy: typeof log) => spy.mock.calls.map((call) => call.map(String).join(' ')).join('\n');
  return { stdout: () => text(log), stderr: () => text(error) };
}

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('sluice CLI help, version and errors', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each(COMMANDS.map((command) => [command.name]))(
    'answers sluice %s --help with its usage and every flag',
    async (name) => {
      for (const flag of ['--help', '-h']) {
        // GIVEN a command, WHEN asked for help
        const output = captureOutput();
        // THEN it exits 0 with its usage, and every option it accepts is listed
        expect(await main([name, flag])).toBe(0);
        expect(output.stdout()).toMatch(new RegExp(`^usage: sluice ${name}`));
        const command = COMMANDS.find((candidate) => candidate.name === name);
        for (const option of Object.keys(command?.options ?? {})) expect(output.stdout()).toContain(`--${option}`);
        vi.restoreAllMocks();
      }
    },
  );

  it.each([['load'], ['demo']])('explains dropped in sluice %s --help, since its live line prints it', async (name) => {
    // GIVEN a command whose live line counts dropped requests, WHEN asked for help
    const output = captureOutput();
    expect(await main([name, '--help'])).toBe(0);
    // THEN the help says what dropped means: offered, never sent, because the generator (not the target) fell behind
    expect(output.stdout().replace(/\s+/g, ' ')).toMatch(
      /dropped: offered while [^.]+ requests were outstanding, so never sent \(the (load )?generator fell behind, not the (target|pipeline)\)/,
    );
  });

  it('documents --body FILE and its {{n}} counter placeholder in sluice load --help', async () => {
    const output = captureOutput();
    expect(await main(['load', '--help'])).toBe(0);
    expect(output.stdout()).toMatch(
      /^ +--body FILE +a JSON template of the request body\b.*\{\{n\}\} becomes the request's counter/m,
    );
  });

  it('lists every command in sluice --help and exits 0', async () => {
    const output = captureOutput();
    expect(await main(['--help'])).toBe(0);
    for (const { name } of COMMANDS) expect(output.stdout()).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('prints the usage on stderr and exits 2 without a command', async () => {
    const output = captureOutput();
    expect(await main([])).toBe(2);
    expect(output.stderr()).toMatch(/^usage: sluice <command>/);
  });

  it("prints package.json's version for --version and -v", async () => {
    const { version } = (await import('../../package.json', { with: { type: 'json' } })).default;
    for (const flag of ['--version', '-v']) {
      const output = captureOutput();
      expect(await main([flag])).toBe(0);
      expect(output.stdout()).toBe(version);
      vi.restoreAllMocks();
    }
    expect(packageVersion()).toBe(version);
  });

  it('fails with exit code 2 and one line when a required flag is missing', async () => {
    const output = captureOutput();
    expect(await main(['load', '--duration', '5'])).toBe(2);
    expect(output.stderr()).toMatch(/^sluice load: --rate is required: requests per second to offer$/);
  });

  it('fails with exit code 1 and one line naming the port when it is busy', async () => {
    // GIVEN something listening on a port
    const holder = createServer();
    const port = await listening(holder);
    try {
      // WHEN sluice dev is asked to serve there
      const output = captureOutput();
      // THEN one line says which port and what to do, without starting the engines
      expect(await main(['dev', '--port', String(port)])).toBe(1);
      expect(output.stderr()).toBe(
        `sluice dev: port ${port} is already in use: stop what listens there or pass --port with another port (--port 0 picks a free one)`,
      );
    } finally {
      holder.close();
    }
  });

  it('fails with exit code 2 and one line when the --pipeline module does not exist', async () => {
    const output = captureOutput();
    expect(await main(['dev', '--pipeline', 'no/such/pipeline.ts'])).toBe(2);
    expect(output.stderr()).toMatch(
      /^sluice dev: --pipeline no\/such\/pipeline\.ts: no such file \(looked for .*\); pass the path of a module that exports 'pipeline'$/,
    );
  });

  it('fails with exit code 1 and one line when the --pipeline module does not load', async () => {
    // GIVEN a module that throws when imported
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    writeFileSync(join(dir, 'broken.mjs'), "throw new Error('definition exploded');\n");
    const output = captureOutput();
    expect(await main(['dev', '--pipeline', join(dir, 'broken.mjs')])).toBe(1);
    expect(output.stderr()).toMatch(/^sluice dev: --pipeline .*broken\.mjs does not load: definition exploded$/);
  });

  it('counts 400 answers of sluice load --url as 4xx and exits 1 when nothing was accepted', async () => {
    // GIVEN an ingress that refuses every body
    const server = createHttpServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'invalid_request', message: 'documentId: Required' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      // WHEN load runs against it
      const output = captureOutput();
      const code = await main(['load', '--url', url, '--rate', '20', '--duration', '0.5', '--json', '--no-follow']);
      // THEN every request is counted as a 4xx, and the exit code and the line say nothing was accepted and why
      expect(code).toBe(1);
      const stats = JSON.parse(output.stdout()) as Record<string, unknown>;
      expect(stats).toMatchObject({ offered: 10, accepted: 0, clientErrors: 10, serverErrors: 0, networkErrors: 0 });
      expect(stats.firstError).toBe('400: documentId: Required');
      expect(output.stderr()).toMatch(
        /sluice load: nothing was accepted: 10 answers were 4xx \(first: 400: documentId: Required\)/,
      );
    } finally {
      server.close();
    }
  });

  it('counts network errors of sluice load --url and says the target did not answer', async () => {
    // GIVEN a port nobody listens on (bound, then released)
    const probe = createServer();
    const port = await listening(probe);
    await new Promise((resolve) => probe.close(resolve));
    const output = captureOutput();
    const code = await main([
      'load',
      '--url',
      `http://127.0.0.1:${port}`,
      '--rate',
      '10',
      '--duration',
      '0.3',
      '--json',
    ]);
    expect(code).toBe(1);
    expect(JSON.parse(output.stdout())).toMatchObject({ accepted: 0, networkErrors: 3 });
    expect(output.stderr()).toMatch(
      /did not answer \(first: network error: ECONNREFUSED\); check that the ingress runs there$/,
    );
  });

  it('sends a --body template with its counter filled in', async () => {
    // GIVEN a template and an ingress that records bodies
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    writeFileSync(join(dir, 'job.json'), '{"orderId":"order-{{n}}","quantity":{{n}}}');
    const bodies: unknown[] = [];
    const server = createHttpServer((request, response) => {
      let text = '';
      request.on('data', (chunk) => {
        text += chunk;
      });
      request.on('end', () => {
        bodies.push(JSON.parse(text));
        response.writeHead(202, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ jobId: `job-${bodies.length}`, status: 'accepted' }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      captureOutput();
      const args = ['load', '--url', url, '--rate', '10', '--duration', '0.2', '--body', join(dir, 'job.json')];
      expect(await main([...args, '--no-follow'])).toBe(0);
      expect(bodies).toEqual([
        { orderId: 'order-0', quantity: 0 },
        { orderId: 'order-1', quantity: 1 },
      ]);
    } finally {
      server.close();
    }
  });

  it('fails with exit code 2 when the --body template is not JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
    writeFileSync(join(dir, 'job.json'), '{"orderId": order-{{n}}}');
    const output = captureOutput();
    expect(
      await main([
        'load',
        '--url',
        'http://127.0.0.1:9',
        '--rate',
        '1',
        '--duration',
        '1',
        '--body',
        join(dir, 'job.json'),
      ]),
    ).toBe(2);
    expect(output.stderr()).toMatch(/--body .*job\.json is not JSON once \{\{n\}\} is replaced by a number/);
  });

  it('says in one line what Node the CLI needs on Node 22, and nothing on Node 24', () => {
    expect(unsupportedNodeMessage('22.12.0')).toBe(
      "sluice's CLI and local runtime need Node.js 24 or later, but this is 22.12.0: run 'npm i -D node@24' and call sluice through npx or an npm script, or use 'npx -p node@24 -p sluice sluice …'",
    );
    expect(unsupportedNodeMessage('24.0.0')).toBeUndefined();
  });
});

describe('sluice dev with AWS_ENDPOINT_URL', () => {
  const saved = process.env.AWS_ENDPOINT_URL;
  afterEach(() => {
    vi.restoreAllMocks();
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = saved;
  });

  it('says in one line that nothing answers at AWS_ENDPOINT_URL, and exits 1', async () => {
    // GIVEN AWS_ENDPOINT_URL pointing at a port nobody listens on (bound, then released)
    const probe = createServer();
    const port = await listening(probe);
    await new Promise((resolve) => probe.close(resolve));
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${port}`;
    // WHEN npm start (sluice dev) runs
    const output = captureOutput();
    // THEN one line says so and what to do
    expect(await main(['dev', '--port', '0'])).toBe(1);
    expect(output.stderr()).toBe(
      `sluice dev: AWS_ENDPOINT_URL is http://127.0.0.1:${port} but nothing answers there (ECONNREFUSED): start LocalStack ('localstack start -d') or unset AWS_ENDPOINT_URL to run on the embedded engines`,
    );
  });
});
