/**
 * build-and-scan.yml for each service of a release: image-build (buildah, pushed to the
 * local registry, digest read back from it), then image-scan gating that digest.
 *
 * No vulnerability database can be downloaded here, so Trivy does not run: the scan
 * report is the one Trivy writes for these images, which are `FROM scratch` with one
 * file: no OS, no packages, no `Results`: test/fixtures/trivy/no-results.json, made out
 * to the image built. The gate still checks that the report is of this very digest.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildahEnv } from '../../test/support/registry.js';
import { ROOT } from '../../test/support/runner.js';
import { SERVICES, type Service } from './profiles.js';
import type { World, WorkflowRun } from './world.js';

export interface Release {
  number: number;
  sha: string;
  run: WorkflowRun;
  /** Image by digest, per service, once built. */
  images: Partial<Record<Service, string>>;
}

const stage = (release: number) => `Release ${release}: build-and-scan`;

const NO_RESULTS = join(ROOT, 'test', 'fixtures', 'trivy', 'no-results.json');

/** Trivy's report of an image with nothing to scan (the fixture), made out to `image`. */
function trivyReport(image: string): string {
  const report = JSON.parse(readFileSync(NO_RESULTS, 'utf8')) as {
    ArtifactName: string;
    CreatedAt?: string;
    Metadata: { RepoDigests: string[]; ImageID?: string };
  };
  report.ArtifactName = image;
  report.CreatedAt = new Date().toISOString();
  report.Metadata.RepoDigests = [image];
  delete report.Metadata.ImageID;
  return JSON.stringify(report, null, 2);
}

/** Builds, pushes and scans one service's image; returns it by digest. */
async function buildService(world: World, release: Release, service: Service): Promise<string> {
  const job = world.job(release.run, `build (${service})`);
  Object.assign(job.env, buildahEnv(join(job.dir, 'buildah')));
  const context = join(job.workspace, 'services', service);
  mkdirSync(context, { recursive: true });
  writeFileSync(join(context, 'Containerfile'), `FROM scratch\nCOPY release.txt /release.txt\n`);
  writeFileSync(join(context, 'release.txt'), `${service}\nrelease ${release.number}\ncommit ${release.sha}\n`);
  const meta = { stage: stage(release.number), release: release.number };

  const built = await world.step(
    job,
    'image-build',
    { image: `${world.registry.host}/acme/${service}`, context: `services/${service}`, tags: 'sha-{{sha}}' },
    { ...meta, title: `image-build ${service}` },
    { facts: (s) => [`${s.outputs.image}`] },
  );
  const image = built.outputs.image as string;
  mkdirSync(join(job.workspace, 'scan'), { recursive: true });
  writeFileSync(join(job.workspace, 'scan', `${service}.trivy.json`), trivyReport(image));
  await world.step(
    job,
    'image-scan',
    { image, scanner: 'report', 'report-file': `scan/${service}.trivy.json`, 'fail-on': 'CRITICAL,HIGH' },
    { ...meta, title: `image-scan ${service}` },
    {
      facts: (s) => [
        `gate ${s.outputs.passed === 'true' ? 'passed' : 'failed'}: ${s.outputs['new-findings']} finding(s) (Trivy report of a FROM scratch image)`,
      ],
    },
  );
  await world.step(job, 'image-build', {}, { ...meta, title: `image-build ${service}` }, { post: built });
  return image;
}

/** One job per service, side by side (a matrix). */
export async function buildRelease(world: World, release: Release): Promise<void> {
  const images = await Promise.all(SERVICES.map((service) => buildService(world, release, service)));
  SERVICES.forEach((service, i) => (release.images[service] = images[i]));
}
