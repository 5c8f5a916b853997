/**
 * Names that mean the environment end users reach: they decide a GitHub Deployment's
 * `production_environment`, and that a deploy step takes images by digest only. Kept
 * apart from deployments.ts so a check can use it without loading the GitHub client.
 */
export function isProductionName(environment: string): boolean {
  return /^(prod|prd|production|live)$/i.test(environment.trim());
}
