import { describe, expect, it } from 'vitest';
import { demoProfile, ProfileError, parseProfile, parseRateCsv, rateAt } from '../../lib/sim/index.ts';

describe('arrival profiles', () => {
  it('ramps linearly from the start rate to --rate over the run', () => {
    const profile = parseProfile('ramp:from=100', 1_000, 100);
    expect(rateAt(profile, 0, 100)).toBe(100);
    expect(rateAt(profile, 50, 100)).toBe(550);
    expect(rateAt(profile, 100, 100)).toBe(1_000);
  });

  it('bursts to --rate for the given window and stays at the base otherwise', () => {
    const profile = parseProfile('burst:base=10,start=20,length=5', 500, 60);
    expect(rateAt(profile, 19.9, 60)).toBe(10);
    expect(rateAt(profile, 20, 60)).toBe(500);
    expect(rateAt(profile, 25, 60)).toBe(10);
  });

  it('swings a diurnal profile around --rate, lowest at the start', () => {
    const profile = parseProfile('diurnal:amplitude=0.5,period=100', 1_000, 100);
    expect(rateAt(profile, 0, 100)).toBeCloseTo(500);
    expect(rateAt(profile, 50, 100)).toBeCloseTo(1_500);
  });

  it('reads a CSV of seconds,rate as steps, skipping a header', () => {
    const profile = parseRateCsv('seconds,rate\n0,10\n30,200\n\n60,0\n');
    expect(rateAt(profile, 29, 90)).toBe(10);
    expect(rateAt(profile, 30, 90)).toBe(200);
    expect(rateAt(profile, 75, 90)).toBe(0);
  });

  it('gives the demo profile: 2.5 × capacity, then 0.5 ×', () => {
    const profile = demoProfile(40, 60);
    expect(rateAt(profile, 59, 120)).toBe(100);
    expect(rateAt(profile, 60, 120)).toBe(20);
  });

  it('fails if a CSV line is not two numbers, naming the line', () => {
    expect(() => parseRateCsv('0,10\n5,lots\n', 'rates.csv')).toThrow(
      /rates\.csv line 2 must be 'seconds,rate' with two numbers of at least 0, but '5,lots' was provided/,
    );
    expect(() => parseRateCsv('10,1\n5,1\n')).toThrow(/seconds must increase/);
  });

  it('fails if the profile or a parameter is unknown or out of range', () => {
    expect(() => parseProfile('sawtooth', 1, 1)).toThrow(ProfileError);
    expect(() => parseProfile('sawtooth', 1, 1)).toThrow(/--profile must be one of constant, ramp, burst, diurnal/);
    expect(() => parseProfile('diurnal:amplitude=2', 1, 1)).toThrow(
      /amplitude must be a number between 0 and 1, but '2' was provided/,
    );
    expect(() => parseProfile('ramp:to=5', 1, 1)).toThrow(/--profile ramp has no parameter 'to'/);
  });
});
