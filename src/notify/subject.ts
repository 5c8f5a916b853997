/**
 * What every notification is about: the service, where, which release, and the image with
 * its digest when the reference pins one. Any action that tells people uses it, whatever
 * happened (a rollout, a rollback, a promotion, a hold).
 */
import type { Notification } from './notify.js';

export interface Subject {
  service: string;
  environment: string;
  release: string;
  image?: string;
}

const digestOf = (image: string | undefined) => /@(sha256:[0-9a-f]{64})$/.exec(image ?? '')?.[1];

/** The service, environment, release, image and digest every notification carries. */
export function about(
  subject: Subject,
): Pick<Notification, 'service' | 'environment' | 'release' | 'image' | 'digest'> {
  const digest = digestOf(subject.image);
  return {
    service: subject.service,
    environment: subject.environment,
    release: subject.release,
    ...(subject.image ? { image: subject.image } : {}),
    ...(digest ? { digest } : {}),
  };
}
