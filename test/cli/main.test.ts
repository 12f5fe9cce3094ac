import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../lib/cli/main.ts';

describe('sluice CLI', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('fails with exit code 2 naming an unknown command and the commands there are', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await main(['deploy-everything'])).toBe(2);
    expect(errors.mock.calls[0]?.[0]).toMatch(/unknown command 'deploy-everything'; the commands are: dev, load, demo/);
  });

  it('fails with exit code 2 naming a bad --port value and the range', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await main(['dev', '--port', 'eighty'])).toBe(2);
    expect(errors.mock.calls[0]?.[0]).toMatch(
      /--port must be an integer between 0 and 65535, but 'eighty' was provided/,
    );
  });

  it('fails with exit code 2 on an unknown flag', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await main(['dev', '--turbo'])).toBe(2);
    expect(errors.mock.calls[0]?.[0]).toMatch(/--turbo/);
  });

  it('fails with exit code 2 naming a bad --rate for sluice load', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await main(['load', '--rate', '0', '--duration', '5'])).toBe(2);
    expect(errors.mock.calls[0]?.[0]).toMatch(
      /--rate must be a number above 0 and at most 100000, but '0' was provided/,
    );
  });

  it('fails with exit code 2 naming a bad --overload-seconds for sluice demo', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    expect(await main(['demo', '--overload-seconds', 'soon'])).toBe(2);
    expect(errors.mock.calls[0]?.[0]).toMatch(
      /--overload-seconds must be an integer between 1 and 3600, but 'soon' was provided/,
    );
  });
});
