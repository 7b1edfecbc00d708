/** A CloudFormation resource as osls writes it (loosely typed: tests read deep into it). */
export interface Resource {
  Type: string;
  Properties: Record<string, any>;
  DependsOn?: string | string[];
}

export interface Template {
  Resources: Record<string, Resource>;
  Outputs?: Record<string, unknown>;
}

/**
 * A bare environment for osls: what a fresh shell on a CI machine has, without any of the project's
 * variables (the test process itself runs with the whole local test environment).
 */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return { ...env, ...extra };
}
