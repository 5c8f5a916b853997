import { inputs } from '../../github/inputs.js';
import { isDigest, parseReference } from '../../image/reference.js';
import { UserError } from '../../util/errors.js';

export interface Settings {
  from: string;
  to: string;
  /** The repository@digest the user gave, if any. */
  image: string | undefined;
  digest: string | undefined;
  service: string | undefined;
  minSoakMs: number;
  token: string;
  /** Who creates trusted deployments and statuses. */
  deployer: string;
}

const ENVIRONMENT = /^[^/'"`\\]{1,255}$/;

function environment(name: 'from-environment' | 'to-environment', value: string): string {
  if (!ENVIRONMENT.test(value)) {
    throw new UserError(
      `Input '${name}' is not an environment name: '${value}'.`,
      'Use the name of a GitHub Environment, for example staging or production.',
    );
  }
  return value;
}

const imageIsATag = (text: string, to: string, from: string): UserError =>
  new UserError(
    `image '${text}' is a tag; promote moves exact digests, and a tag can point at other bytes in ${to} than it did in ${from}.`,
    `Give repository@sha256:… (or sha256:…), or leave image empty to promote what is live in ${from}.`,
  );

export function readSettings(): Settings {
  const from = environment('from-environment', inputs.required('from-environment'));
  const to = environment('to-environment', inputs.required('to-environment'));
  if (from.toLowerCase() === to.toLowerCase()) {
    throw new UserError(
      `from-environment and to-environment are both '${from}'.`,
      'Promote from one environment to the next, e.g. staging → production.',
    );
  }
  const text = inputs.string('image', '');
  let image: string | undefined;
  let digest: string | undefined;
  if (text && isDigest(text)) {
    digest = text;
  } else if (text) {
    const ref = parseReference(text, 'image');
    if (!ref.digest) {
      throw imageIsATag(text, to, from);
    }
    image = `${ref.name}@${ref.digest}`;
    digest = ref.digest;
  }
  return {
    from,
    to,
    image,
    digest,
    service: inputs.string('service', '') || undefined,
    minSoakMs: inputs.duration('min-soak', '30m'),
    token: inputs.string('github-token', '${{ github.token }}'),
    deployer: inputs.string('deployer', 'github-actions[bot]'),
  };
}
