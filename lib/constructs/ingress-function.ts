import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { sluiceBundling } from './bundling.ts';

/**
 * The source file of one of sluice's own Lambda handlers (`functions/` at the package root), whether this module runs
 * from the sources (`lib/constructs`) or from the compiled package (`dist/lib/constructs`); esbuild bundles the source.
 */
export function sluiceFunctionEntry(relativePath: string): string {
  const candidates = [`../../functions/${relativePath}`, `../../../functions/${relativePath}`].map((candidate) =>
    fileURLToPath(new URL(candidate, import.meta.url)),
  );
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) {
    throw new Error(`sluice's handler ${relativePath} was not found; looked at ${candidates.join(' and ')}`);
  }
  return found;
}

/** Props of an {@link IngressFunction}. */
export interface IngressFunctionProps {
  /** Path of the handler's source file. */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  /** @default 256 */
  readonly memorySizeMiB?: number;
  /** @default - unreserved */
  readonly reservedConcurrency?: number;
  readonly environment: Readonly<Record<string, string>>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * A small ingress-side function (authorizer, accept, drainer) built like the consumers: ESM bundled locally by
 * esbuild, ARM64, Node 24, JSON logs to a log group of its own, and a role that may write only to that log group.
 */
export class IngressFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: IngressFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.description,
    });
    this.logGroup.grantWrite(role);
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: path.resolve(props.entry),
      handler: 'handler',
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySizeMiB ?? 256,
      ...(props.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      role,
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      bundling: sluiceBundling(),
    });
  }
}
