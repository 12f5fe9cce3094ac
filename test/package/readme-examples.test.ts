import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** The README's code blocks marked `<!-- readme-example: PATH … -->`, by path. */
function readmeExamples(): Map<string, string> {
  const readme = readFileSync('README.md', 'utf8');
  const examples = new Map<string, string>();
  for (const match of readme.matchAll(/<!-- readme-example: (\S+)[^>]*-->\n```ts\n([\s\S]*?)```/g)) {
    examples.set(match[1] as string, match[2] as string);
  }
  return examples;
}

/** The consumer the examples point their `entry` at (README, "Writing a consumer", minus the undefined `resize`). */
const RESIZE_HANDLER = `import { consumer, PermanentError } from 'sluice/runtime';
import * as z from 'zod/mini';

export const handler = consumer({
  schema: z.strictObject({ imageId: z.string(), width: z.int() }),
  handler: async (job) => {
    if (job.width > 4096) throw new PermanentError(\`width \${job.width} is above 4096\`);
  },
});
`;

// Inside the repository, so that `sluice` resolves to this package (its sources, through the sluice-source condition).
const root = resolve('test/.readme-examples', String(process.pid));

describe("the README's construct and accept-function examples, as written", () => {
  const examples = readmeExamples();

  beforeAll(() => {
    for (const [path, code] of [...examples, ['functions/resize.ts', RESIZE_HANDLER] as const]) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), code);
    }
  });

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('finds the marked examples', () => {
    expect([...examples.keys()].sort()).toEqual([
      'bin/documents.ts',
      'bin/worker.ts',
      'functions/accept.ts',
      'functions/document-job.ts',
    ]);
  });

  it('type-checks them strictly', async () => {
    // GIVEN a tsconfig with this repository's strict options, for the examples only (the packed .d.ts files are checked
    // without skipLibCheck by external-app.test.ts)
    writeFileSync(
      join(root, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../../tsconfig.json',
        include: ['**/*.ts'],
      }),
    );
    // WHEN tsc checks them / THEN no error
    const result = await run('npx', ['tsc', '--noEmit', '-p', join(root, 'tsconfig.json')]).catch(
      (error: { stdout: string }) => error,
    );
    expect('code' in result ? result.stdout : '').toBe('');
  }, 180_000);

  it.each(['bin/worker.ts', 'bin/documents.ts'])(
    'synthesizes %s without a warning',
    async (app) => {
      // WHEN the app synthesizes (bundling skipped: the examples' handlers import sluice from source here)
      const outdir = join(root, `cdk.out-${app.replace(/\W/g, '-')}`);
      await run(process.execPath, ['--conditions=sluice-source', join(root, app)], {
        cwd: root,
        env: {
          ...process.env,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
        },
      });
      // THEN the cloud assembly holds a stack and no warning or error annotation
      type Metadata = Record<string, { type: string; data: unknown }[]>;
      const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
        artifacts: Record<string, { type: string; metadata?: Metadata; additionalMetadataFile?: string }>;
      };
      const stacks = Object.values(manifest.artifacts).filter(
        (artifact) => artifact.type === 'aws:cloudformation:stack',
      );
      expect(stacks.length).toBeGreaterThan(0);
      // Annotations are in the manifest or, with newer aws-cdk-lib, in a metadata file next to it.
      const annotations = stacks.flatMap((stack) => {
        const extra: Metadata = stack.additionalMetadataFile
          ? JSON.parse(readFileSync(join(outdir, stack.additionalMetadataFile), 'utf8'))
          : {};
        return [...Object.values(stack.metadata ?? {}), ...Object.values(extra)]
          .flat()
          .filter((entry) => entry.type === 'aws:cdk:warning' || entry.type === 'aws:cdk:error')
          .map((entry) => `${entry.type}: ${String(entry.data)}`);
      });
      expect(annotations).toEqual([]);
    },
    180_000,
  );
});
