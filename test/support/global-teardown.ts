export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__motoServers ?? []).map((s) => s.stop()));
}
