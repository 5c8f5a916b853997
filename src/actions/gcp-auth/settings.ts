import { isServiceAccountEmail, projectOfServiceAccount } from '../../gcp/iam-credentials.js';
import { defaultAudience, parseProviderName, type ProviderName } from '../../gcp/workload-identity.js';
import { inputs } from '../../github/inputs.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  provider: ProviderName;
  serviceAccount: string | undefined;
  audience: string;
  projectId: string | undefined;
  createCredentialsFile: boolean;
  exportEnv: boolean;
  tokenFormat: 'access_token' | 'id_token' | undefined;
  lifetimeSeconds: number;
  scopes: string[];
  idTokenAudience: string | undefined;
  idTokenIncludeEmail: boolean;
  delegates: string[];
}

const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;

function serviceAccountEmail(value: string, what: string): string {
  if (!isServiceAccountEmail(value)) {
    throw new UserError(
      `${what} '${value}' is not a service account email.`,
      'It looks like deploy@my-project.iam.gserviceaccount.com.',
    );
  }
  return value;
}

/** Reads and checks every input before anything touches the network. */
export function readSettings(): Settings {
  const provider = parseProviderName(inputs.required('workload-identity-provider'));
  const sa = inputs.string('service-account');
  const serviceAccount = sa === undefined ? undefined : serviceAccountEmail(sa, 'service-account');
  const delegates = inputs.list('delegates').map((d) => serviceAccountEmail(d, 'delegates'));
  if (delegates.length > 0 && !serviceAccount)
    throw new UserError(
      'delegates needs service-account: a delegation chain ends at the service account it impersonates.',
    );

  const projectId =
    inputs.string('project-id') ?? (serviceAccount ? projectOfServiceAccount(serviceAccount) : undefined);
  if (projectId !== undefined && !PROJECT_ID.test(projectId)) {
    throw new UserError(
      `project-id '${projectId}' is not a project id.`,
      'Project ids are 6 to 30 lowercase letters, digits and hyphens, starting with a letter.',
    );
  }

  const tokenFormat = inputs.choice('token-format', ['access_token', 'id_token'] as const);
  const idTokenAudience = inputs.string('id-token-audience');
  if (tokenFormat === 'id_token' && !serviceAccount) {
    throw new UserError(
      'token-format id_token needs service-account: Google signs ID tokens only for service accounts.',
    );
  }
  if (tokenFormat === 'id_token' && !idTokenAudience) {
    throw new UserError(
      'token-format id_token needs id-token-audience, e.g. the URL of the Cloud Run service to call.',
    );
  }

  const lifetimeMs = inputs.duration('access-token-lifetime', '3600s');
  const lifetimeSeconds = Math.round(lifetimeMs / 1000);
  if (lifetimeSeconds < 1 || lifetimeSeconds > 43_200) {
    throw new UserError(`access-token-lifetime must be between 1s and 12h, not ${lifetimeSeconds}s.`);
  }

  const scopes = inputs.list('access-token-scopes');
  if (scopes.length === 0)
    throw new UserError(
      'access-token-scopes is empty.',
      'Use https://www.googleapis.com/auth/cloud-platform unless you need narrower scopes.',
    );
  for (const scope of scopes) {
    if (!/^https:\/\/www\.googleapis\.com\/auth\/[\w.-]+$|^(openid|email|profile)$/.test(scope)) {
      throw new UserError(
        `access-token-scopes: '${scope}' is not an OAuth scope.`,
        'Scopes look like https://www.googleapis.com/auth/cloud-platform.',
      );
    }
  }

  return {
    provider,
    serviceAccount,
    audience: inputs.string('audience') ?? defaultAudience(provider),
    projectId,
    createCredentialsFile: inputs.boolean('create-credentials-file', true),
    exportEnv: inputs.boolean('export-environment-variables', true),
    tokenFormat,
    lifetimeSeconds,
    scopes,
    idTokenAudience,
    idTokenIncludeEmail: inputs.boolean('id-token-include-email', false),
    delegates,
  };
}
