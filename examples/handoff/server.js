// Handoff example: a small web app on Better Auth with the one-time-token-session
// plugin and SQLite. Run it with `npm run example` from the repository root.
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { fromNodeHeaders, toNodeHandler } from "better-auth/node";
import { build } from "esbuild";
import QRCode from "qrcode";
import { createAuth } from "./auth.js";
import { HOST, readConfig } from "./config.js";
import * as pages from "./pages.js";

const exampleDir = path.dirname(fileURLToPath(import.meta.url));

/**
 * Headers of every HTML page. Pages contain session data or tokens, so they
 * are never cached, and no-referrer keeps a handoff URL with its token out of
 * the Referer header of any request the page makes.
 */
const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "X-Robots-Tag": "noindex",
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; " +
    "img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
};

/** Bundles browser.js with the Better Auth client and this plugin's client. */
async function bundleBrowserScript() {
  const result = await build({
    entryPoints: [path.join(exampleDir, "browser.js")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    logLevel: "warning",
  });
  return result.outputFiles[0].text;
}

function sendPage(response, status, html, extraHeaders = {}) {
  response.writeHead(status, { ...PAGE_HEADERS, ...extraHeaders });
  response.end(html);
}

function redirect(response, location) {
  response.writeHead(303, { Location: location, "Cache-Control": "no-store" });
  response.end();
}

/** Builds the request handler of the app around a configured Better Auth instance. */
function createRequestHandler({ auth, baseURL, expiresInMinutes, browserScript }) {
  const authHandler = toNodeHandler(auth);

  async function getSession(request) {
    return await auth.api.getSession({ headers: fromNodeHeaders(request.headers) });
  }

  async function showStartPage(request, response) {
    const current = await getSession(request);
    if (!current) return sendPage(response, 200, pages.signInPage());
    const sessions = await auth.api.listSessions({ headers: fromNodeHeaders(request.headers) });
    sessions.sort((a, b) => new Date(b.createdAt) - new Date(a.createdAt));
    sendPage(
      response,
      200,
      pages.accountPage({ ...current, sessions, expiresInMinutes }),
    );
  }

  async function showSignUpPage(request, response) {
    if (await getSession(request)) return redirect(response, "/");
    sendPage(response, 200, pages.signUpPage());
  }

  /** Issues a handoff token for the caller's session and shows it as a QR code and link. */
  async function createHandoffLink(request, response) {
    // Better Auth's cookies are SameSite=Lax, so other sites cannot post here
    // with them, and this check rejects such posts before any work. It reads
    // Sec-Fetch-Site, not Origin, because a form on a no-referrer page sends
    // "Origin: null" even to its own origin.
    const site = request.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin") {
      console.warn(`Rejected POST /continue with Sec-Fetch-Site: ${site}`);
      const message = "This request came from another site, so no link was created. Open the app and try again.";
      return sendPage(response, 403, pages.errorPage(message));
    }
    const current = await getSession(request);
    if (!current) return redirect(response, "/");

    const { token, expiresAt } = await auth.api.issueOneTimeToken({
      body: { sessionId: current.session.id },
    });
    const link = `${baseURL}/handoff?token=${encodeURIComponent(token)}`;
    const qrSvg = await QRCode.toString(link, { type: "svg", margin: 1, errorCorrectionLevel: "M" });
    sendPage(response, 200, pages.linkPage({ link, qrSvg, expiresAt, expiresInMinutes }));
  }

  /**
   * Shows the landing page of a handoff link. It never consumes the token on
   * GET or HEAD: the person's click on "Continue" does, through the client.
   */
  async function showHandoffPage(request, response, url) {
    const token = url.searchParams.get("token");
    if (!token) {
      const signedIn = Boolean(await getSession(request));
      return sendPage(response, 400, pages.invalidLinkPage({ expiresInMinutes, signedIn }));
    }
    sendPage(response, 200, pages.handoffPage());
  }

  async function showInvalidLinkPage(request, response) {
    const signedIn = Boolean(await getSession(request));
    sendPage(response, 200, pages.invalidLinkPage({ expiresInMinutes, signedIn }));
  }

  /** Page routes by method and path. HEAD requests take the GET route, and Node sends no body for them. */
  const routes = {
    "GET /": showStartPage,
    "GET /sign-up": showSignUpPage,
    "POST /continue": createHandoffLink,
    "GET /handoff": showHandoffPage,
    "GET /handoff/invalid": showInvalidLinkPage,
  };

  return async function handleRequest(request, response) {
    const url = new URL(request.url, baseURL);
    if (url.pathname.startsWith("/api/auth/")) return authHandler(request, response);

    const method = request.method === "HEAD" ? "GET" : request.method;
    if (method === "GET" && url.pathname === "/assets/app.js") {
      response.writeHead(200, {
        "Content-Type": "text/javascript; charset=utf-8",
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
      });
      return response.end(browserScript);
    }

    const route = routes[`${method} ${url.pathname}`];
    if (route) return await route(request, response, url);

    const allowed = Object.keys(routes)
      .filter((key) => key.endsWith(` ${url.pathname}`))
      .map((key) => key.split(" ")[0]);
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      const message = `This address does not accept ${request.method} requests.`;
      return sendPage(response, 405, pages.errorPage(message), { Allow: allowed.join(", ") });
    }
    sendPage(response, 404, pages.notFoundPage());
  };
}

async function main() {
  const config = readConfig();
  const baseURL = `http://${HOST}:${config.port}`;
  const { auth, database } = await createAuth({ ...config, baseURL });
  const browserScript = await bundleBrowserScript();
  const handleRequest = createRequestHandler({
    auth,
    baseURL,
    expiresInMinutes: config.expiresInMinutes,
    browserScript,
  });

  const server = http.createServer((request, response) => {
    handleRequest(request, response).catch((error) => {
      console.error(`Request ${request.method} ${request.url?.split("?")[0]} failed:`, error);
      if (!response.headersSent) sendPage(response, 500, pages.errorPage());
      else response.end();
    });
  });

  if (!config.secretFromEnv) {
    console.warn(
      "BETTER_AUTH_SECRET is not set, so a random secret is used and every session ends when the server stops.",
    );
  }
  server.listen(config.port, HOST, () => {
    const { port } = server.address();
    console.log(`Handoff example listening on http://${HOST}:${port}`);
    console.log(`Database: ${config.databaseFile}`);
    console.log(`Handoff links are valid for ${pages.formatLifetime(config.expiresInMinutes)}.`);
  });

  const stop = (signal) => {
    console.log(`Received ${signal}, stopping the handoff example.`);
    server.close(() => {
      database.close();
      process.exit(0);
    });
    server.closeAllConnections();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error) => {
  console.error("The handoff example failed to start:", error);
  process.exit(1);
});
