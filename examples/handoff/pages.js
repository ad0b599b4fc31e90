// HTML pages of the handoff example. Every value that comes from a request or
// the database goes through `escapeHtml`.

const APP_NAME = "Handoff example";

const STYLE = `
  :root { color-scheme: light; --ink: #1c2430; --muted: #5b6675; --line: #dde3ea;
    --accent: #2456c7; --accent-dark: #1b4299; --warn-bg: #fff7e6; --warn-line: #f0c36d;
    --bad-bg: #fdecec; --bad-line: #e6a3a3; --ok: #1f7a4d; }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; background: #f3f5f8; color: var(--ink);
    font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
  header { display: flex; align-items: center; gap: .6rem; max-width: 34rem; margin: 0 auto;
    padding: 1.5rem 1rem .5rem; font-weight: 600; }
  .mark { display: grid; place-items: center; width: 2rem; height: 2rem; border-radius: .5rem;
    background: var(--accent); color: #fff; font-size: 1rem; }
  main { max-width: 34rem; margin: 0 auto; padding: 0 1rem 2rem; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: .75rem;
    padding: 1.75rem; box-shadow: 0 1px 3px rgba(16, 24, 40, .06); margin-top: 1rem; }
  h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 .5rem; }
  h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
  p { margin: .5rem 0; }
  .muted { color: var(--muted); font-size: .925rem; }
  label { display: block; font-weight: 600; font-size: .925rem; margin-top: 1rem; }
  input { width: 100%; margin-top: .35rem; padding: .65rem .75rem; font: inherit;
    border: 1px solid #c4ccd6; border-radius: .5rem; }
  input:focus, button:focus-visible, a:focus-visible { outline: 3px solid #9bb8f5; outline-offset: 1px; }
  button, .button { display: inline-block; margin-top: 1.25rem; padding: .65rem 1.1rem;
    font: inherit; font-weight: 600; border-radius: .5rem; border: 1px solid var(--accent);
    background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; }
  button:hover, .button:hover { background: var(--accent-dark); }
  button:disabled { opacity: .6; cursor: progress; }
  button.secondary, .button.secondary { background: #fff; color: var(--accent); }
  button.secondary:hover, .button.secondary:hover { background: #eef3fd; }
  .actions { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; }
  .actions form { margin: 0; }
  .wide { width: 100%; }
  .notice { margin-top: 1rem; padding: .75rem 1rem; border-radius: .5rem;
    background: var(--warn-bg); border: 1px solid var(--warn-line); font-size: .925rem; }
  .notice.bad { background: var(--bad-bg); border-color: var(--bad-line); }
  [role=alert] { margin-top: 1rem; padding: .6rem .8rem; border-radius: .5rem;
    background: var(--bad-bg); border: 1px solid var(--bad-line); }
  [hidden] { display: none !important; }
  .qr { display: block; width: 13rem; height: 13rem; margin: 1rem auto; }
  .qr.expired { opacity: .15; }
  .link { display: flex; gap: .5rem; align-items: center; }
  .link code { flex: 1; overflow-wrap: anywhere; font-size: .8rem; padding: .55rem .65rem;
    background: #f6f8fa; border: 1px solid var(--line); border-radius: .5rem; }
  .link button { margin-top: 0; }
  .expiry { font-weight: 600; color: var(--ok); }
  .expiry.expired { color: #b42318; }
  ul.sessions { list-style: none; padding: 0; margin: .5rem 0 0; }
  ul.sessions li { padding: .6rem 0; border-top: 1px solid var(--line); font-size: .925rem; }
  .badge { display: inline-block; margin-left: .4rem; padding: 0 .45rem; border-radius: 1rem;
    background: #e7f4ec; color: var(--ok); font-size: .8rem; font-weight: 600; }
  ol { padding-left: 1.25rem; }
  footer { max-width: 34rem; margin: 0 auto; padding: 0 1rem 2rem; color: var(--muted); font-size: .8rem; }
`;

/** Escapes text for HTML element content and double-quoted attribute values. */
export function escapeHtml(value) {
  return String(value)
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Formats a lifetime in minutes as words, such as "3 minutes" or "3 seconds". */
export function formatLifetime(minutes) {
  const seconds = Math.round(minutes * 60);
  if (seconds % 60 !== 0) return seconds === 1 ? "1 second" : `${seconds} seconds`;
  const whole = seconds / 60;
  return whole === 1 ? "1 minute" : `${whole} minutes`;
}

function formatTime(date) {
  return new Date(date).toLocaleTimeString("en-US", {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZoneName: "short",
  });
}

function formatDateTime(date) {
  return new Date(date).toLocaleString("en-US", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

/** Wraps page content in the shared document, styles and script. */
function layout(title, content) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)} · ${APP_NAME}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
<script type="module" src="/assets/app.js"></script>
</head>
<body>
<header><span class="mark" aria-hidden="true">⇄</span>${APP_NAME}</header>
<main>
${content}
</main>
<footer>A Better Auth example of the one-time-token-session plugin. It runs on this computer only.</footer>
</body>
</html>
`;
}

function alertSlot() {
  return `<p role="alert" hidden></p>`;
}

export function signInPage() {
  return layout(
    "Sign in",
    `<section class="card">
  <h1>Sign in</h1>
  <p class="muted">Use the email address and password of your account.</p>
  <form data-action="sign-in">
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    ${alertSlot()}
    <button type="submit" class="wide">Sign in</button>
  </form>
  <p class="muted">No account yet? <a href="/sign-up">Create one</a>.</p>
</section>`,
  );
}

export function signUpPage() {
  return layout(
    "Create an account",
    `<section class="card">
  <h1>Create an account</h1>
  <p class="muted">Passwords need at least 8 characters.</p>
  <form data-action="sign-up">
    <label for="name">Name</label>
    <input id="name" name="name" autocomplete="name" required>
    <label for="email">Email</label>
    <input id="email" name="email" type="email" autocomplete="email" required>
    <label for="password">Password</label>
    <input id="password" name="password" type="password" autocomplete="new-password" minlength="8" required>
    ${alertSlot()}
    <button type="submit" class="wide">Create account</button>
  </form>
  <p class="muted">Already have an account? <a href="/">Sign in</a>.</p>
</section>`,
  );
}

/**
 * Summarizes a User-Agent header as "Browser on system", such as "Chrome on
 * Linux". It checks a few well-known tokens only, so it is a hint for people,
 * not a reliable device detection.
 */
export function describeUserAgent(userAgent) {
  if (!userAgent) return "Unknown browser";
  const browsers = [
    ["Edg/", "Edge"],
    ["Firefox/", "Firefox"],
    ["HeadlessChrome/", "Headless Chrome"],
    ["Chrome/", "Chrome"],
    ["Safari/", "Safari"],
  ];
  const systems = [
    ["Android", "Android"],
    ["iPhone", "iPhone"],
    ["iPad", "iPad"],
    ["Windows", "Windows"],
    ["Mac OS X", "macOS"],
    ["Linux", "Linux"],
  ];
  const browser = browsers.find(([token]) => userAgent.includes(token))?.[1] ?? "Unknown browser";
  const system = systems.find(([token]) => userAgent.includes(token))?.[1];
  return system ? `${browser} on ${system}` : browser;
}

function sessionItem(session, currentSessionId) {
  const current = session.id === currentSessionId ? `<span class="badge">This device</span>` : "";
  return `<li><strong>${escapeHtml(describeUserAgent(session.userAgent))}</strong>${current}<br>
    <span class="muted">Signed in ${escapeHtml(formatDateTime(session.createdAt))}</span></li>`;
}

/** Renders the signed-in page, with the button that creates a handoff link. */
export function accountPage({ user, session, sessions, expiresInMinutes }) {
  return layout(
    "Your account",
    `<section class="card">
  <h1>Hello, ${escapeHtml(user.name)}</h1>
  <p>You are signed in as <strong data-testid="email">${escapeHtml(user.email)}</strong>.</p>
</section>
<section class="card">
  <h2>Continue on another device</h2>
  <p class="muted">Sign in on your phone or another computer without typing your password.
  You get a QR code and a link that works once, for ${formatLifetime(expiresInMinutes)}.</p>
  <form method="post" action="/continue">
    <button type="submit">Continue on another device</button>
  </form>
</section>
<section class="card">
  <h2>Signed-in devices</h2>
  <ul class="sessions">
    ${sessions.map((item) => sessionItem(item, session.id)).join("\n    ")}
  </ul>
  <form data-action="sign-out">
    ${alertSlot()}
    <button type="submit" class="secondary">Sign out on this device</button>
  </form>
</section>`,
  );
}

/** Renders the page with the QR code and the link of a fresh handoff token. */
export function linkPage({ link, qrSvg, expiresAt, expiresInMinutes }) {
  const expiresIso = new Date(expiresAt).toISOString();
  return layout(
    "Continue on another device",
    `<section class="card">
  <h1>Continue on another device</h1>
  <p>Scan this code with the camera of your other device, or open the link there.</p>
  <div class="qr" role="img" aria-label="QR code of the sign-in link">${qrSvg}</div>
  <div class="link">
    <code id="handoff-link">${escapeHtml(link)}</code>
    <button type="button" class="secondary" data-copy="${escapeHtml(link)}">Copy</button>
  </div>
  <p>The link works once and is valid for ${formatLifetime(expiresInMinutes)}, until
    <time datetime="${expiresIso}">${escapeHtml(formatTime(expiresAt))}</time>.
    <span class="expiry" data-expires-at="${expiresIso}"></span></p>
  <p class="notice">Anyone who has this link can use it once to sign in as you. Open it only on
    your own devices, and do not send it to anyone else.</p>
  <div class="actions">
    <form method="post" action="/continue"><button type="submit" class="secondary">Create a new link</button></form>
    <a class="button secondary" href="/">Back to your account</a>
  </div>
</section>`,
  );
}

/**
 * Renders the landing page of a handoff link. The page contains only a
 * question, so link scanners that fetch it do not use the token. The browser
 * script redeems the token when the person chooses "Continue".
 */
export function handoffPage() {
  return layout(
    "Sign in on this device",
    `<section class="card">
  <h1>Sign in on this device?</h1>
  <p>This link was created on a device where you are signed in to ${APP_NAME}.
  Continue to sign in here with the same account. The other device stays signed in.</p>
  <p class="notice">Continue only if you created this link yourself. If someone else sent it to
    you, close this page.</p>
  <noscript><p class="notice bad">This page needs JavaScript to continue.</p></noscript>
  <form data-action="continue">
    ${alertSlot()}
    <div class="actions">
      <button type="submit">Continue</button>
      <a class="button secondary" href="/">Cancel</a>
    </div>
  </form>
</section>`,
  );
}

/** Renders the page for a link that is used, expired, unknown or malformed. */
export function invalidLinkPage({ expiresInMinutes, signedIn }) {
  const next = signedIn
    ? `<a class="button" href="/">Go to your account</a>`
    : `<a class="button" href="/">Sign in with email and password</a>`;
  return layout(
    "Link already used or expired",
    `<section class="card">
  <h1>This link was already used or has expired</h1>
  <p>Sign-in links work only once and only for ${formatLifetime(expiresInMinutes)}. This one was
  already used, has expired, or is not a valid link. Links also stop working when the device that
  created them signs out.</p>
  <h2>Get a new link</h2>
  <ol>
    <li>On the device where you are signed in, open ${APP_NAME}.</li>
    <li>Choose <strong>Continue on another device</strong>.</li>
    <li>Scan the new QR code or open the new link on this device.</li>
  </ol>
  <div class="actions">${next}</div>
</section>`,
  );
}

export function notFoundPage() {
  return layout(
    "Page not found",
    `<section class="card">
  <h1>Page not found</h1>
  <p>There is no page at this address.</p>
  <a class="button" href="/">Go to the start page</a>
</section>`,
  );
}

export function errorPage(message = "The server could not complete this request. Try again in a moment.") {
  return layout(
    "Something went wrong",
    `<section class="card">
  <h1>Something went wrong</h1>
  <p>${escapeHtml(message)}</p>
  <a class="button" href="/">Go to the start page</a>
</section>`,
  );
}
