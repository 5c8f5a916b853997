/**
 * The role settings aws-auth exports for later steps (never a secret), and whether a step
 * can renew the session they describe. Light: no SDK, no @actions/core at load.
 */
import { createHash } from 'node:crypto';

/** The variable aws-auth exports for later steps. */
export const ROLE_SETTINGS_VARIABLE = 'PLATFORM_ACTIONS_AWS_ROLE';

/** How a session was minted, which decides how it renews. */
export type RoleSource = 'github-oidc' | 'web-identity-token-file' | 'role-chaining';

/** What aws-auth hands later steps: the role settings, never a secret. */
export interface RoleSettings {
  version: 1;
  source: RoleSource;
  roleArn: string;
  sessionName: string;
  durationSeconds: number;
  /** Audience of the GitHub OIDC token (github-oidc). */
  audience: string;
  /** Web identity token file (web-identity-token-file); read again at each renewal. */
  tokenFile?: string;
  inlinePolicy?: string;
  managedPolicyArns?: string[];
  region: string;
  /** STS endpoint aws-auth used, when it was overridden (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL). */
  stsEndpoint?: string;
  /** When the exported session expires (ISO 8601). */
  expiration: string;
  /**
   * SHA-256 (first 16 hex digits) of the exported access key id: a step only renews when
   * the credentials in its environment are still the ones aws-auth exported (another
   * credentials action run later wins, as it would without us).
   */
  keyFingerprint: string;
  /** For role-chaining: the settings of the session the chain started from. */
  chainedFrom?: RoleSettings;
}

export function keyFingerprint(accessKeyId: string): string {
  return createHash('sha256').update(accessKeyId).digest('hex').slice(0, 16);
}

const SOURCES: readonly RoleSource[] = ['github-oidc', 'web-identity-token-file', 'role-chaining'];

/** Parses the variable; undefined when absent, empty, or not ours (a warning-free fall back to the environment). */
export function parseRoleSettings(text: string | undefined): RoleSettings | undefined {
  if (!text || text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return isRoleSettings(value) ? value : undefined;
}

function isRoleSettings(v: unknown): v is RoleSettings {
  const s = v as Partial<RoleSettings> | null;
  if (!s || typeof s !== 'object' || s.version !== 1) return false;
  if (!SOURCES.includes(s.source as RoleSource)) return false;
  if (typeof s.roleArn !== 'string' || !/^arn:[\w-]+:iam::\d{12}:role\//.test(s.roleArn)) return false;
  if (typeof s.sessionName !== 'string' || typeof s.region !== 'string' || typeof s.audience !== 'string') return false;
  if (typeof s.durationSeconds !== 'number' || s.durationSeconds < 900 || s.durationSeconds > 43200) return false;
  if (
    typeof s.expiration !== 'string' ||
    Number.isNaN(Date.parse(s.expiration)) ||
    typeof s.keyFingerprint !== 'string'
  )
    return false;
  if (
    s.managedPolicyArns !== undefined &&
    (!Array.isArray(s.managedPolicyArns) || s.managedPolicyArns.some((a) => typeof a !== 'string'))
  )
    return false;
  if (s.source === 'role-chaining' && s.chainedFrom !== undefined && !isRoleSettings(s.chainedFrom)) return false;
  return true;
}

/** One renewed session. */
export interface Session {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

/** Whether, and why not, the credentials of this step can renew. */
export type Renewability =
  { renewable: true; settings: RoleSettings } | { renewable: false; why: string; settings?: RoleSettings };

/**
 * Decides whether this step renews: the settings are there, the environment still holds
 * the session they describe, and a new web identity token can be had.
 */
export function renewability(env: NodeJS.ProcessEnv = process.env): Renewability {
  const settings = parseRoleSettings(env[ROLE_SETTINGS_VARIABLE]);
  if (!settings) {
    return {
      renewable: false,
      why: `they were not exported by platform-actions aws-auth (${ROLE_SETTINGS_VARIABLE} is not set)`,
    };
  }
  const key = env.AWS_ACCESS_KEY_ID;
  if (!key || keyFingerprint(key) !== settings.keyFingerprint) {
    return {
      renewable: false,
      why: 'the credentials in the environment are not the ones aws-auth exported (another step replaced them)',
      settings,
    };
  }
  const why = sourceProblem(settings, env);
  return why ? { renewable: false, why, settings } : { renewable: true, settings };
}

function sourceProblem(settings: RoleSettings, env: NodeJS.ProcessEnv): string | undefined {
  if (settings.source === 'github-oidc') {
    return env.ACTIONS_ID_TOKEN_REQUEST_URL && env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
      ? undefined
      : 'this step cannot request a GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set: the job needs permissions: id-token: write)';
  }
  if (settings.source === 'web-identity-token-file')
    return settings.tokenFile ? undefined : 'no web identity token file is recorded';
  if (!settings.chainedFrom)
    return 'the session was assumed by role chaining from credentials that did not come from aws-auth';
  return sourceProblem(settings.chainedFrom, env);
}
