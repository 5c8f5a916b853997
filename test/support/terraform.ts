import { execFile, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT } from './runner.js';

export const TF_FIXTURES = join(ROOT, 'test', 'fixtures', 'terraform');
export const MOTO_BACKEND = join(TF_FIXTURES, 'moto.s3.tfbackend');

/**
 * The environment Terraform needs in the tests: the offline provider mirror (where the
 * machine image has one; elsewhere Terraform downloads providers as usual) and the AWS
 * provider and S3 backend pointed at moto with dummy credentials.
 */
export function terraformEnv(moto: string): Record<string, string> {
  return {
    ...(existsSync('/opt/tf-plugins') ? { TF_CLI_CONFIG_FILE: join(TF_FIXTURES, 'cli.tfrc') } : {}),
    AWS_ENDPOINT_URL: moto,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** The backend-config input for state `key` in moto's `tfstate` bucket. */
export function backendConfig(key: string): string {
  return [MOTO_BACKEND, `key=${key}`].join('\n');
}

/** Creates the state bucket in moto (S3 needs no signature there). */
export async function createStateBucket(moto: string, bucket = 'tfstate'): Promise<void> {
  const res = await fetch(`${moto}/${bucket}`, { method: 'PUT' });
  if (!res.ok && res.status !== 409) throw new Error(`could not create bucket ${bucket}: HTTP ${res.status}`);
}

/** Copies a fixture folder into `dest` (a job's workspace, usually). */
export function copyFixture(fixture: string, dest: string): string {
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(join(TF_FIXTURES, fixture), dest, { recursive: true });
  return dest;
}

/** Runs terraform directly (setting up state for a test); throws with its output when it fails. */
export function terraform(dir: string, args: string[], env: Record<string, string>): string {
  const r = spawnSync('terraform', args, {
    cwd: dir,
    env: { ...process.env, ...env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`terraform ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/**
 * terraform() without blocking the event loop, for a caller whose own servers Terraform
 * talks to (the AWS proxy, in the sandbox); rejects with its output when it fails.
 */
export function terraformAsync(dir: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'terraform',
      args,
      {
        cwd: dir,
        env: { ...process.env, ...env, TF_IN_AUTOMATION: '1', TF_INPUT: '0' },
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`terraform ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** init (with the moto backend for `key`, or a local one) and apply. */
export function applyStack(
  dir: string,
  env: Record<string, string>,
  opts: { key?: string; vars?: string[] } = {},
): void {
  const init = ['init', '-input=false', '-no-color'];
  if (opts.key) init.push(`-backend-config=${MOTO_BACKEND}`, `-backend-config=key=${opts.key}`);
  terraform(dir, init, env);
  terraform(
    dir,
    ['apply', '-input=false', '-no-color', '-auto-approve', ...(opts.vars ?? []).map((v) => `-var=${v}`)],
    env,
  );
}
