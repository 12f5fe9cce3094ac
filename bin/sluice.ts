#!/usr/bin/env node
// Checks the Node version before loading anything: on an older Node the CLI's modules would fail to link with a stack
// trace (node:sqlite), instead of saying what to install.
import { unsupportedNodeMessage } from '../lib/local/node-version.ts';

const unsupported = unsupportedNodeMessage(process.versions.node);
if (unsupported) {
  console.error(unsupported);
  process.exitCode = 1;
} else {
  const { main } = await import('../lib/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
