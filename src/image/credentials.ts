import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Registry credentials from the files `docker login`, `buildah login`, `podman login`
 * and docker/login-action write, in the order containers tools read them, including
 * credential helpers (`docker-credential-<name>`, e.g. gcloud or ecr-login).
 */
export interface RegistryCredentials {
  username: string;
  password: string;
  /** Where they came from, for messages (never the secret itself). */
  source: string;
}

interface AuthFile {
  auths?: Record<string, { auth?: string; identitytoken?: string; username?: string; password?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** Candidate auth files, most specific first. */
export function authFilePaths(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME ?? homedir();
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  paths.push(join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'containers', 'auth.json'));
  paths.push(join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'config.json'));
  return paths;
}

/** Keys a registry may be stored under (Docker Hub has its historical spellings). */
function keysFor(registry: string): string[] {
  const keys = [
    registry,
    `https://${registry}`,
    `http://${registry}`,
    `https://${registry}/v1/`,
    `https://${registry}/v2/`,
  ];
  if (registry === 'docker.io' || registry === 'registry-1.docker.io' || registry === 'index.docker.io') {
    keys.push('https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io');
  }
  return keys;
}

function readAuthFile(path: string): AuthFile | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as AuthFile;
  } catch {
    return undefined;
  }
}

/** Asks a docker credential helper (`docker-credential-NAME get`, server on stdin). */
export function fromHelper(
  helper: string,
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryCredentials | undefined> {
  return new Promise((resolve) => {
    const child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'ignore'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined);
      try {
        const creds = JSON.parse(out) as { Username?: string; Secret?: string };
        if (!creds.Secret) return resolve(undefined);
        resolve({ username: creds.Username ?? '', password: creds.Secret, source: `docker-credential-${helper}` });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin.end(registry);
  });
}

/** The first credentials found for a registry, or undefined (anonymous access). */
export async function findCredentials(
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryCredentials | undefined> {
  const keys = keysFor(registry);
  for (const path of authFilePaths(env)) {
    const file = readAuthFile(path);
    if (!file) continue;
    const helper = keys.map((k) => file.credHelpers?.[k]).find(Boolean);
    if (helper) {
      const creds = await fromHelper(helper, registry, env);
      if (creds) return creds;
    }
    for (const key of keys) {
      const entry = file.auths?.[key];
      if (!entry) continue;
      if (entry.identitytoken) return { username: '<token>', password: entry.identitytoken, source: path };
      if (entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const colon = decoded.indexOf(':');
        if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source: path };
      }
      if (entry.username && entry.password) return { username: entry.username, password: entry.password, source: path };
    }
    if (file.credsStore) {
      const creds = await fromHelper(file.credsStore, registry, env);
      if (creds) return creds;
    }
  }
  return undefined;
}
