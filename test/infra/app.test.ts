import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/app.ts';
import { testApp } from './test-app.ts';

describe('the CDK app', () => {
  it('synthesizes offline: no context lookups, no account or region needed', () => {
    // Act
    const { app, stack } = buildApp(testApp({ stage: 'dev' }));
    const assembly = app.synth();

    // Assess
    expect(stack.stackName).toBe('KafkaOrders-dev');
    expect(assembly.manifest.missing ?? []).toEqual([]);
    expect(assembly.getStackByName('KafkaOrders-dev').environment.account).toBe(
      'unknown-account',
    );
  });

  it('names the stack after the stage from context', () => {
    const { stack } = buildApp(
      testApp({
        stage: 'prod',
        stages: {
          prod: {
            api: { publicOrderRoutes: true },
            alarmEmail: 'oncall@example.com',
          },
        },
      }),
    );
    expect(stack.stackName).toBe('KafkaOrders-prod');
    expect(stack.templateOptions.description).toMatch(/\(prod\)$/);
  });
});
