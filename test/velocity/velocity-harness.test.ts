import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startVelocity,
  substituteGatewayResponse,
  TemplateRenderError,
  type VelocityEngine,
} from './velocity-renderer.ts';

/**
 * The harness itself: Velocity 1.7 with $input, $util and $context as API Gateway documents them
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html).
 */
describe('the Velocity 1.7 harness', () => {
  let velocity: VelocityEngine;
  beforeAll(() => {
    velocity = startVelocity();
  });
  afterAll(async () => {
    await velocity.stop();
  });

  it("escapes with JavaScript string rules, single quotes included (\\')", async () => {
    const rendered = await velocity.render("$util.escapeJavaScript($input.params('q'))", {
      querystring: { q: `it's "x" \\ / é 😀\n` },
    });

    expect(rendered.output).toBe(`it\\'s \\"x\\" \\\\ \\/ \\u00E9 \\uD83D\\uDE00\\n`);
  });

  it('url-encodes as application/x-www-form-urlencoded and decodes back', async () => {
    const rendered = await velocity.render("$util.urlEncode($input.params('q'))|$util.urlDecode('a+b%26c')", {
      querystring: { q: 'a b&c=d/é' },
    });

    expect(rendered.output).toBe('a+b%26c%3Dd%2F%C3%A9|a b&c');
  });

  it('parses JSON and encodes and decodes base64 (UTF-8)', async () => {
    const rendered = await velocity.render(
      "#set($o = $util.parseJson($input.body))$o.a.b|$util.base64Encode('é')|$util.base64Decode('w6k=')",
      { body: '{"a":{"b":"deep"}}' },
    );

    expect(rendered.output).toBe('deep|w6k=|é');
  });

  it('searches $input.params(x) in path, query string, then headers, and answers "" when absent', async () => {
    const rendered = await velocity.render(
      "$input.params('x')|$input.params('y')|$input.params('z')|[$input.params('none')]",
      {
        path: { x: 'path' },
        querystring: { x: 'query', y: 'query' },
        header: { x: 'header', y: 'header', z: 'header' },
      },
    );

    expect(rendered.output).toBe('path|query|header|[]');
  });

  it('evaluates JSONPath with $input.json (JSON text) and $input.path (navigable objects)', async () => {
    const rendered = await velocity.render(
      "$input.json('$.a')|$input.path('$.a').b|$input.path('$.list')[1]|$input.path('$.list').size()",
      { body: '{"a":{"b":"x\\"y"},"list":[1,2,3]}' },
    );

    expect(rendered.output).toBe('{"b":"x\\"y"}|x"y|2|3');
  });

  it("resolves $map.class to getClass(), as Velocity 1.7 does (the reason templates use .get('class'))", async () => {
    const rendered = await velocity.render("#set($m = $input.path('$.m'))$m.class.S|$m.get('class').S", {
      body: '{"m":{"class":{"S":"PermanentError"}}}',
    });

    expect(rendered.output).toBe('$m.class.S|PermanentError');
  });

  it('returns status and header overrides, and refuses an override applied twice (API Gateway answers 5XX)', async () => {
    const rendered = await velocity.render(
      '#set($context.responseOverride.status = 503)#set($context.responseOverride.header.Retry-After = "1")',
    );
    expect(rendered).toMatchObject({ status: '503', headers: { 'Retry-After': '1' } });

    await expect(
      velocity.render('#set($context.responseOverride.status = 400)#set($context.responseOverride.status = 503)'),
    ).rejects.toThrow(TemplateRenderError);
  });

  it('fails on a template Velocity cannot parse', async () => {
    await expect(velocity.render('#if(')).rejects.toThrow(/ParseErrorException/);
  });

  it('substitutes gateway response variables without running VTL', () => {
    const output = substituteGatewayResponse('{"m":$context.error.messageString,"v":"$stageVariables.v"}#set($x = 1)', {
      context: { error: { messageString: '"Forbidden"' } },
      stageVariables: { v: 'blue' },
    });

    expect(output).toBe('{"m":"Forbidden","v":"blue"}#set($x = 1)');
  });
});
