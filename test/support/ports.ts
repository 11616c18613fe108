import { createServer } from 'node:net';

/** A port nobody listens on right now (the OS picks it; released before it is used). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => server.listen(0, '127.0.0.1', ok).once('error', fail));
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (typeof address !== 'object' || !address) throw new Error('could not find a free port');
  return address.port;
}
