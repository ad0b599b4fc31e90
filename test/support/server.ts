import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { toNodeHandler } from "better-auth/node";
import type { TestAuth } from "./auth.js";

/** A real HTTP server on 127.0.0.1 that serves an auth instance. */
export interface TestServer {
  /** Base URL of the auth routes, such as `http://127.0.0.1:40123/api/auth`. */
  authUrl: string;
  close: () => Promise<void>;
}

/** Starts `toNodeHandler(auth)` on an ephemeral port of 127.0.0.1. */
export async function startServer(auth: TestAuth): Promise<TestServer> {
  const server = createServer(toNodeHandler(auth));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    authUrl: `http://127.0.0.1:${port}/api/auth`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
