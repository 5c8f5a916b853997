import { isProductionName } from '../github/environment-name.js';
import { UserError } from '../util/errors.js';

/**
 * Production runs images by digest. A tag is a name the registry can point at another
 * image at any time: between the scan and the deploy, between staging and production,
 * or between two tasks ECS or Kubernetes starts from the same revision. A deploy step
 * bound to a production environment (the same names that make its GitHub Deployment a
 * production one) refuses tag-only images before it changes anything, unless the
 * workflow says `allow-tag: true`.
 */

const BY_DIGEST = /@sha256:[a-f0-9]{64}$/;

export interface DeployedImage {
  /** Where the image goes, e.g. "container web" or "image". */
  what: string;
  image: string;
}

const tagsInProduction = (environment: string, tagOnly: DeployedImage[], list: string): UserError =>
  new UserError(
    `${environment} is a production environment, and this step would deploy ${tagOnly.length === 1 ? 'an image' : 'images'} by tag only (${list}). ` +
      'A tag can be moved to another image at any time, so what production runs would not be what was scanned and tested. Nothing was changed.',
    "Deploy by digest (repository@sha256:...): build-and-scan's image output is one; for a third-party image, `docker buildx imagetools inspect IMAGE:TAG` prints the digest to pin (and scan it like your own). To deploy a tag to production anyway, set allow-tag: true on this step.",
  );

/**
 * Throws for tag-only images bound for a production environment; returns the warnings
 * to print when allow-tag lets them through (empty when there is nothing to say).
 */
export function checkPinnedForProduction(
  environment: string | undefined,
  images: DeployedImage[],
  allowTag: boolean,
): string[] {
  const tagOnly = images.filter((i) => !BY_DIGEST.test(i.image.trim()));
  if (tagOnly.length === 0 || !environment || !isProductionName(environment)) return [];
  const list = tagOnly.map((i) => `${i.what}: ${i.image}`).join('; ');
  if (allowTag) {
    return [
      `allow-tag: deploying to ${environment} by tag (${list}). What runs is whatever the tag points to when each task or pod starts, not necessarily what was scanned and tested.`,
    ];
  }
  throw tagsInProduction(environment, tagOnly, list);
}
