/** Stops the shared ZooKeeper and removes its data directory. */
export default async function globalTeardown(): Promise<void> {
  const server = globalThis.drawbridgeSharedZk;
  globalThis.drawbridgeSharedZk = undefined;
  if (server) await server.dispose();
}
