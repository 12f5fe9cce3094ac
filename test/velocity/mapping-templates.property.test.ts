import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allSynthesizedTemplates, type SynthesizedTemplate } from './synthesized-templates.ts';
import { checkFor } from './template-checks.ts';
import { startVelocity, type VelocityEngine } from './velocity-renderer.ts';

/**
 * Every mapping template the constructs synthesize, rendered on Apache Velocity 1.7 with API Gateway's $input, $util
 * and $context (gateway responses by simple substitution, as API Gateway does), for 1,000 adversarial cases each.
 */
const CASES_PER_TEMPLATE = 1_000;

const templates = allSynthesizedTemplates();
/** Templates with the same text and check are rendered once; the name lists every place they appear. */
const distinct = new Map<string, { template: SynthesizedTemplate; names: string[] }>();
for (const template of templates) {
  const check = checkFor(template);
  const key = `${check?.description}\u0000${template.site.kind}\u0000${template.template}`;
  const entry = distinct.get(key);
  if (entry) entry.names.push(template.name);
  else distinct.set(key, { template, names: [template.name] });
}

describe('synthesized mapping templates on Velocity 1.7', () => {
  let velocity: VelocityEngine;
  beforeAll(() => {
    velocity = startVelocity();
  });
  afterAll(async () => {
    await velocity.stop();
  });

  it('finds the templates of every variant: example stack, direct, function, priority lanes, overflow', () => {
    // GIVEN / WHEN the synthesized stacks
    const variants = new Set(templates.map((template) => template.variant));

    // THEN each contributes templates, and the direct-mode ones include the SendMessage request
    expect([...variants].sort()).toEqual(['direct', 'example', 'function', 'overflow', 'priority-lanes']);
    const sendMessage = templates.filter(
      (template) => template.site.kind === 'integration-request' && template.site.httpMethod === 'POST',
    );
    expect(sendMessage.map((template) => template.variant).sort()).toEqual([
      'direct',
      'example',
      'overflow',
      'priority-lanes',
    ]);
  });

  it('knows what every synthesized template must produce', () => {
    const unchecked = templates.filter((template) => checkFor(template) === undefined).map((template) => template.name);

    expect(unchecked).toEqual([]);
  });

  for (const { template, names } of distinct.values()) {
    const check = checkFor(template);
    if (!check) continue;
    it(`${template.name} ${check.description} (${CASES_PER_TEMPLATE} cases; also ${names.length - 1} identical)`, async () => {
      await fc.assert(
        fc.asyncProperty(check.cases, (testCase) => check.check(velocity, template, testCase)),
        { numRuns: CASES_PER_TEMPLATE },
      );
    });
  }
});
