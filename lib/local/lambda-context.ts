/**
 * The Lambda `context` object a local invocation gets: the fields of the Node.js runtime's context
 * (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html), with `getRemainingTimeInMillis` counting down
 * to the function timeout.
 */
export function lambdaContext(args: {
  readonly functionName: string;
  readonly memorySizeMiB: number;
  readonly requestId: string;
  /** Epoch milliseconds at which the invocation times out. */
  readonly deadline: number;
}) {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: args.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${args.functionName}`,
    memoryLimitInMB: String(args.memorySizeMiB),
    awsRequestId: args.requestId,
    logGroupName: `/aws/lambda/${args.functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, args.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
