import { UserError } from '../util/errors.js';

export interface RoleArn {
  arn: string;
  partition: string;
  accountId: string;
  /** Role path including slashes, "/" when none. */
  path: string;
  name: string;
}

const ROLE_ARN =
  /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):iam::(\d{12}):role\/((?:[\w+=,.@-]+\/)*)([\w+=,.@-]{1,64})$/;

const notARoleArn = (what: string, text: string): UserError =>
  new UserError(
    `${what} '${text}' is not an IAM role ARN.`,
    "Use the full ARN, for example arn:aws:iam::111111111111:role/github-deploy (copy it from the role's page in the IAM console).",
  );

/** Parses an IAM role ARN, or says what a valid one looks like. */
export function parseRoleArn(text: string, what = 'role-to-assume'): RoleArn {
  const m = ROLE_ARN.exec(text.trim());
  if (!m) {
    throw notARoleArn(what, text);
  }
  const [, partition, accountId, path, name] = m as unknown as [string, string, string, string, string];
  return { arn: text.trim(), partition, accountId, path: `/${path}`, name };
}

/** Account ids are exactly 12 digits. */
export function assertAccountId(id: string, what: string): string {
  if (!/^\d{12}$/.test(id)) {
    throw new UserError(`${what}: '${id}' is not an AWS account id (12 digits).`);
  }
  return id;
}
