/**
 * What `npm run invoke` reads besides parseArgs (local/runtime/invoke-options.ts):
 * the inspector flags and the function's environment overrides.
 */
import { describe, expect, it } from 'vitest';
import {
  invokeEnvironment,
  takeInspectFlags,
} from '../../../local/runtime/invoke-options.ts';
import { OverrideSyntaxError } from '../../../local/runtime/overrides.ts';

describe('takeInspectFlags', () => {
  it.each([
    ['--inspect', { port: 9229, wait: 'none' }],
    ['--inspect-wait', { port: 9229, wait: 'attach' }],
    ['--inspect-brk', { port: 9229, wait: 'break' }],
    ['--inspect-brk=9230', { port: 9230, wait: 'break' }],
    ['--inspect-wait=0', { port: 0, wait: 'attach' }],
  ])('reads %s, leaving the other arguments', (flag, inspect) => {
    // Act
    const taken = takeInspectFlags(['payment', flag, '--event', 'e.json']);

    // Assess
    expect(taken).toEqual({
      args: ['payment', '--event', 'e.json'],
      inspect,
    });
  });

  it('gives no inspector when none is asked for, and stops at --', () => {
    // Act
    const taken = takeInspectFlags(['payment', '--', '--inspect-brk']);

    // Assess
    expect(taken).toEqual({ args: ['payment', '--', '--inspect-brk'] });
  });

  it('takes the last flag given', () => {
    expect(
      takeInspectFlags(['--inspect', '--inspect-brk=1234']).inspect,
    ).toEqual({ port: 1234, wait: 'break' });
  });

  it('leaves look-alikes to parseArgs', () => {
    expect(takeInspectFlags(['--inspector', '--inspect-port=1'])).toEqual({
      args: ['--inspector', '--inspect-port=1'],
    });
  });

  it.each([
    '--inspect-brk=',
    '--inspect-brk=x',
    '--inspect=65536',
    '--inspect=-1',
  ])('refuses the port of %s', (flag) => {
    expect(() => takeInspectFlags([flag])).toThrow(OverrideSyntaxError);
    expect(() => takeInspectFlags([flag])).toThrow(
      `${flag}: the port is a number from 0 (a free one) to 65535`,
    );
  });
});

describe('invokeEnvironment', () => {
  it("applies LOCAL_FUNCTION_ENV's entries for this function, then --env; a later value wins", () => {
    // Act
    const environment = invokeEnvironment('payment', {
      fromEnvironment: [
        'payment:GATEWAY_FAIL_ALL=true',
        'order-api:LOG_LEVEL=DEBUG',
        'PAYMENT_RETRY_ATTEMPTS=1',
      ],
      fromArguments: ['GATEWAY_FAIL_ALL=false', 'payment:URL=http://h:1/?a=b'],
    });

    // Assess
    expect(environment).toEqual({
      GATEWAY_FAIL_ALL: 'false',
      PAYMENT_RETRY_ATTEMPTS: '1',
      URL: 'http://h:1/?a=b',
    });
  });

  it('refuses an --env for another function', () => {
    expect(() =>
      invokeEnvironment('payment', {
        fromEnvironment: [],
        fromArguments: ['order-api:LOG_LEVEL=DEBUG'],
      }),
    ).toThrow(
      '--env order-api:LOG_LEVEL=DEBUG: names order-api, but this invocation is of payment; give NAME=VALUE',
    );
  });

  it.each([
    ['AWS_REGION=eu-west-1', /Lambda reserves AWS_REGION/],
    ['1A=1', /1A is not a variable name Lambda accepts/],
    ['NOVALUE', /expected <function>:<NAME>=<value>/],
  ])('refuses %s as npm run dev does', (text, message) => {
    expect(() =>
      invokeEnvironment('payment', {
        fromEnvironment: [],
        fromArguments: [text],
      }),
    ).toThrow(message);
  });
});
