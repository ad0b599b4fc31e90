import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createAuthClient } from "better-auth/client";
import { toNodeHandler } from "better-auth/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oneTimeTokenClient } from "../src/plugin/client.js";
import { createTestAuth, signUp, type TestAuth } from "./support/auth.js";
import { createTestDatabase, type TestDatabase } from "./support/databases.js";

describe("client plugin over HTTP", () => {
  let db: TestDatabase;
  let auth: TestAuth;
  let server: Server;
  let client: ReturnType<typeof createClient>;

  function createClient(baseURL: string) {
    return createAuthClient({ baseURL, plugins: [oneTimeTokenClient()] });
  }

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const baseURL = `http://127.0.0.1:${port}`;
    auth = await createTestAuth(db.database, {}, { baseURL, trustedOrigins: [baseURL] });
    server.on("request", toNodeHandler(auth));
    client = createClient(baseURL);
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await db.destroy();
  });

  it("generate and verify round trip", async () => {
    const user = await signUp(auth);
    const generated = await client.oneTimeToken.generate({
      fetchOptions: { headers: { cookie: user.cookie } },
    });
    expect(generated.error).toBeNull();
    const token = generated.data?.token;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const verified = await client.oneTimeToken.verify({ token: token! });
    expect(verified.error).toBeNull();
    expect(verified.data?.user.id).toBe(user.userId);
    expect(verified.data?.session.id).not.toBe(user.sessionId);
    expect(verified.data?.token).toBe(verified.data?.session.token);
  });

  it("verify error carries the code", async () => {
    const verified = await client.oneTimeToken.verify({ token: "B".repeat(43) });
    expect(verified.data).toBeNull();
    expect(verified.error?.status).toBe(400);
    expect(verified.error?.code).toBe("INVALID_TOKEN");
  });

  it("generate without a session fails", async () => {
    const generated = await client.oneTimeToken.generate();
    expect(generated.data).toBeNull();
    expect(generated.error?.status).toBe(401);
  });
});
