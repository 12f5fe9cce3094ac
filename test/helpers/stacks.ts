import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

/** The handler file construct tests point consumers at. */
export const ECHO_ENTRY = 'test/fixtures/handlers/echo.ts';

/** A stack in an app that skips asset bundling (fast), unless `bundle` is set. */
export function testStack(options: { readonly bundle?: boolean } = {}): Stack {
  const app = new App(options.bundle ? {} : { context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
}

/** The synthesized template of `stack`. */
export function templateOf(stack: Stack): Template {
  return Template.fromStack(stack);
}
