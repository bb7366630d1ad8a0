// The passkey page (GET /passkeys and /passkeys.js): plain HTML and a few lines of script that
// call the GraphQL API with fetch (same origin, session cookie) and navigator.credentials. It is
// a working demo and the page of the browser test. Served with a strict CSP: no inline script, no
// other origin, no framing; its one inline style is allowed by hash.
import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import type { RelyingParty } from "./webauthn.input.js";

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
fieldset{margin:1rem 0;border:1px solid #ccc}input,select,button{font:inherit;margin:.2rem}
#out{white-space:pre-wrap;background:#f4f4f4;padding:.5rem;min-height:1.5rem}#out[data-status=error]{color:#a00}`;
const STYLE_HASH = createHash("sha256").update(STYLE).digest("base64");

const escapeAttr = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function html(rp: RelyingParty, productName: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Passkeys · ${escapeAttr(productName)}</title>
<meta name="wan-origins" content="${escapeAttr(rp.origins.join(" "))}">
<style>${STYLE}</style></head>
<body>
<h1>Passkeys</h1>
<p id="who">…</p>
<fieldset><legend>Password sign-in</legend>
<input id="identity" autocomplete="username" placeholder="email or username">
<input id="password" type="password" autocomplete="current-password" placeholder="password">
<button id="login">Sign in with password</button></fieldset>
<fieldset><legend>Passkey</legend>
<button id="signin">Sign in with a passkey</button>
<button id="verify">Verify with a passkey</button>
<button id="logout">Sign out</button><br>
<input id="name" placeholder="passkey name" value="My passkey" maxlength="64">
<select id="usage"><option value="FIRST">first factor</option><option value="SECONDARY">second factor</option></select>
<button id="register">Register a passkey</button></fieldset>
<h2>Your passkeys</h2><ul id="keys"></ul>
<p id="out" role="status"></p>
<script src="/passkeys.js" defer></script>
</body></html>`;
}

const SCRIPT = `"use strict";
const $ = (id) => document.getElementById(id);
function show(text, status) { $("out").textContent = text; $("out").dataset.status = status; }
async function gql(query, variables) {
  const res = await fetch("/graphql", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  const body = await res.json();
  if (body.errors) { const e = body.errors[0]; throw new Error((e.extensions && e.extensions.code ? e.extensions.code + ": " : "") + e.message); }
  return body.data;
}
const toJson = (cred) => JSON.stringify(cred.toJSON());
async function refresh() {
  try {
    const d = await gql("{ me { email } wanCredentials { id name usage lastUsedAt } }");
    $("who").textContent = "Signed in as " + d.me.email;
    $("keys").replaceChildren(...d.wanCredentials.map((k) => { const li = document.createElement("li"); li.textContent = k.name + " (" + k.usage + ")" + (k.lastUsedAt ? ", last used " + k.lastUsedAt : ""); return li; }));
  } catch { $("who").textContent = "Signed out"; $("keys").replaceChildren(); }
}
function run(id, action) {
  $(id).addEventListener("click", async () => {
    show("…", "busy");
    try { show(await action(), "ok"); } catch (e) { show(String(e.message || e), "error"); }
    await refresh();
  });
}
run("login", async () => {
  const d = await gql("mutation($i: LoginInput!) { login(input: $i) { __typename } }", { i: { identity: $("identity").value, password: $("password").value } });
  return d.login.__typename;
});
run("register", async () => {
  const o = await gql("mutation($i: WanRegisterOptionsInput!) { wanRegisterOptions(input: $i) { options } }", { i: { name: $("name").value, usage: $("usage").value } });
  const cred = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(JSON.parse(o.wanRegisterOptions.options)) });
  const d = await gql("mutation($c: String!) { wanRegister(input: { credential: $c }) { credential { name } } }", { c: toJson(cred) });
  return "Registered " + d.wanRegister.credential.name;
});
run("signin", async () => {
  const o = await gql("mutation { wanSignInOptions { options } }");
  const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(o.wanSignInOptions.options)) });
  const d = await gql("mutation($c: String!) { wanSignIn(input: { credential: $c }) { __typename ... on SignedIn { user { email } } } }", { c: toJson(cred) });
  return d.wanSignIn.__typename === "SignedIn" ? "Signed in as " + d.wanSignIn.user.email : d.wanSignIn.__typename;
});
run("verify", async () => {
  const o = await gql("mutation { wanVerifyOptions { options } }");
  const cred = await navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(JSON.parse(o.wanVerifyOptions.options)) });
  const d = await gql("mutation($c: String!) { wanVerify(input: { credential: $c }) { verifiedAt } }", { c: toJson(cred) });
  return "Verified at " + d.wanVerify.verifiedAt;
});
run("logout", async () => { await gql("mutation { logout }"); return "Signed out"; });
const allowed = document.querySelector('meta[name="wan-origins"]').content.split(" ");
if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) show("This browser does not support passkeys with JSON options (PublicKeyCredential.parseCreationOptionsFromJSON).", "error");
else if (!allowed.includes(location.origin)) show("This page's origin " + location.origin + " is not in webauthn.origins (" + allowed.join(", ") + "): passkeys will be refused. Open it at an allowed origin.", "error");
refresh();
`;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "connect-src 'self'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cache-control": "no-cache",
};

/** The page routes; returns false for paths that are not the page's. */
export function createPasskeyPage(rp: RelyingParty, productName: string) {
  const page = html(rp, productName);
  return (path: string, method: string, res: ServerResponse): boolean => {
    if (method !== "GET" && method !== "HEAD") return false;
    const body = path === "/passkeys" ? page : path === "/passkeys.js" ? SCRIPT : null;
    if (body === null) return false;
    const type = path.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/html; charset=utf-8";
    res.writeHead(200, { "content-type": type, "content-length": Buffer.byteLength(body), ...SECURITY_HEADERS });
    res.end(method === "HEAD" ? undefined : body);
    return true;
  };
}
