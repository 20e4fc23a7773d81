import { z } from 'zod';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Validates the environment against a zod schema and reports every problem at once,
 * so an operator fixes a bad deployment in one pass instead of one restart per variable.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  throw new ConfigError(result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`));
}

/**
 * With NODE_ENV=production, refuses every setting that is missing or equal to its development
 * default (a local server, a stand-in's credential, a secret printed in the repository). Zod
 * fills a missing value with its default before this runs, so "forgotten" and "set to the
 * development value" are refused alike: a deployment that lacks one would otherwise start and
 * quietly talk to localhost or authenticate with a public secret.
 *
 * Use the same record for the schema's `.default()`s, so the two cannot drift.
 */
export function refuseDevelopmentDefaults(defaults: Readonly<Record<string, unknown>>) {
  return (config: { NODE_ENV?: string } & Record<string, unknown>, ctx: z.RefinementCtx): void => {
    if (config.NODE_ENV !== 'production') return;
    for (const [key, value] of Object.entries(defaults)) {
      if (config[key] === value) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'is missing or the development default, which NODE_ENV=production refuses: set the real value',
        });
      }
    }
  };
}

/** Environment values are strings: these read them as the types configs need. */
export const env = {
  /** NODE_ENV: unset means development (make run, the tests); the images set production. */
  nodeEnv: () => z.string().default('development'),
  port: (fallback: number) => z.coerce.number().int().min(0).max(65_535).default(fallback),
  positiveInt: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  nonNegativeInt: (fallback: number) => z.coerce.number().int().min(0).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};
