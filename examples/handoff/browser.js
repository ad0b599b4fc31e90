// Browser script of the handoff example, bundled by esbuild when the server
// starts and served as /assets/app.js. Every page loads it, and it acts only
// on the forms and elements it finds.
import { createAuthClient } from "better-auth/client";
import { oneTimeTokenClient } from "one-time-token-session/client";

const authClient = createAuthClient({ plugins: [oneTimeTokenClient()] });

/** Error codes of verify after which the link can never work again. */
const UNUSABLE_LINK_CODES = new Set([
  "INVALID_TOKEN",
  "SESSION_NOT_FOUND",
  "SESSION_EXPIRED",
  "USER_NOT_FOUND",
]);

/**
 * Replaces the current history entry with `path`, so the address bar, the
 * back button and the history no longer contain the token, then loads `path`.
 */
function leaveHandoffPage(path) {
  history.replaceState(null, "", path);
  location.reload();
}

/** Redeems the token of the current URL. Runs only when the person continues. */
async function continueWithToken() {
  const token = new URL(location.href).searchParams.get("token") ?? "";
  const { error } = await authClient.oneTimeToken.verify({ token });
  if (!error) {
    leaveHandoffPage("/");
    return null;
  }
  if (UNUSABLE_LINK_CODES.has(error.code)) {
    leaveHandoffPage("/handoff/invalid");
    return null;
  }
  if (error.status === 429) {
    return "Too many attempts from this network. Wait a minute, then try again.";
  }
  return error.message || `Continuing failed (HTTP ${error.status}). Try again.`;
}

async function signUp(fields) {
  const { error } = await authClient.signUp.email({
    name: fields.get("name"),
    email: fields.get("email"),
    password: fields.get("password"),
  });
  if (error) return error.message || `Sign-up failed (HTTP ${error.status}).`;
  location.assign("/");
  return null;
}

async function signIn(fields) {
  const { error } = await authClient.signIn.email({
    email: fields.get("email"),
    password: fields.get("password"),
  });
  if (error) return error.message || `Sign-in failed (HTTP ${error.status}).`;
  location.assign("/");
  return null;
}

async function signOut() {
  const { error } = await authClient.signOut();
  if (error) return error.message || `Sign-out failed (HTTP ${error.status}).`;
  location.assign("/");
  return null;
}

/** Form actions by `data-action`. Each returns an error message or null. */
const ACTIONS = {
  "continue": continueWithToken,
  "sign-up": signUp,
  "sign-in": signIn,
  "sign-out": signOut,
};

for (const form of document.querySelectorAll("form[data-action]")) {
  const action = ACTIONS[form.dataset.action];
  const alert = form.querySelector("[role=alert]");
  const submit = form.querySelector("button[type=submit]");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    if (alert) alert.hidden = true;
    let message;
    try {
      message = await action(new FormData(form));
    } catch (error) {
      message = `The request failed: ${error.message}. Check your connection and try again.`;
    }
    if (message) {
      submit.disabled = false;
      if (alert) {
        alert.textContent = message;
        alert.hidden = false;
      }
    }
  });
}

/** Formats a number of seconds as m:ss. */
function formatCountdown(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

// Counts down the lifetime of a link and marks the link as expired when it runs out.
for (const element of document.querySelectorAll("[data-expires-at]")) {
  const expiresAt = Date.parse(element.dataset.expiresAt);
  const update = () => {
    const seconds = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
    if (seconds > 0) {
      element.textContent = `Expires in ${formatCountdown(seconds)}`;
      return;
    }
    element.textContent = "Expired. Create a new link.";
    element.classList.add("expired");
    document.querySelector(".qr")?.classList.add("expired");
    clearInterval(timer);
  };
  const timer = setInterval(update, 1000);
  update();
}

for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed: select the link";
    }
  });
}
