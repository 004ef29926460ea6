// The keys page. Every text that comes from the server is written with textContent (never as
// markup), and a new key's secret lives in one element until it is dismissed, never in storage,
// the URL or the console.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = { session: null, keys: [] };
  const DAYS = 30;
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value !== null && value !== undefined && value !== false) node.setAttribute(name, String(value));
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function say(text, isError) {
    const status = $("status");
    status.textContent = text || "";
    status.classList.toggle("error", Boolean(isError));
  }

  // The message of an error body, in any of the presets' styles.
  function messageOf(body, status) {
    if (body && typeof body === "object") {
      if (body.error && typeof body.error === "object" && body.error.message) return body.error.message;
      if (typeof body.error === "string") return body.error;
      if (typeof body.detail === "string") return body.detail;
      if (typeof body.title === "string") return body.title;
    }
    return "The request failed (" + status + ").";
  }

  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      if (state.session && state.session.csrf_token) headers["X-CSRF-Token"] = state.session.csrf_token;
    }
    const response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let json = null;
    try {
      json = await response.json();
    } catch (_) {
      json = null;
    }
    if (!response.ok) {
      const error = new Error(messageOf(json, response.status));
      error.status = response.status;
      throw error;
    }
    return json;
  }

  function day(text) {
    return text ? String(text).slice(0, 10) : "never";
  }

  function when(text) {
    return text ? String(text).slice(0, 16).replace("T", " ") + " UTC" : "never";
  }

  function statusOf(key) {
    const now = Date.now();
    if (key.revoked_at && Date.parse(key.revoked_at) <= now) return "revoked";
    if (key.expires_at && Date.parse(key.expires_at) <= now) return "expired";
    if (key.disabled) return "disabled";
    if (key.revoked_at) return "rotating";
    return "active";
  }

  function scopesOf(key) {
    const list = key[state.session.scopes_field] || key.scopes || key.permissions || [];
    return Array.isArray(list) ? list : [];
  }

  // Checkboxes, one per known scope, in `fieldset`.
  function scopeBoxes(fieldset, prefix, checked) {
    for (const old of fieldset.querySelectorAll(".scope")) old.remove();
    state.session.known_scopes.forEach((scope, i) => {
      const id = prefix + "-scope-" + i;
      const box = el("input", { type: "checkbox", name: "scope", value: scope, id });
      box.checked = checked.includes(scope);
      fieldset.append(el("div", { class: "scope" }, box, el("label", { for: id }, scope)));
    });
  }

  function chosenScopes(fieldset) {
    return Array.from(fieldset.querySelectorAll('input[name="scope"]:checked')).map((b) => b.value);
  }

  function expiryOf(input) {
    return input.value ? input.value + "T00:00:00Z" : null;
  }

  // The new key's secret, shown once with a copy button, until dismissed.
  function showSecret(minted, what) {
    const slot = $("secret-slot");
    slot.replaceChildren();
    const secret = el("code", { "data-secret": "", tabindex: "0" }, minted.key);
    const copy = el("button", { type: "button", "data-copy": "" }, "Copy");
    const done = el("button", { type: "button", "data-dismiss": "" }, "Done, I have saved it");
    const box = el(
      "div",
      { class: "secret card", role: "alert" },
      el("p", {}, what + " Copy it now: it is shown only once."),
      secret,
      el("div", { class: "actions" }, copy, done),
    );
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(secret.textContent);
        copy.textContent = "Copied";
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(secret);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        copy.textContent = "Press Ctrl+C to copy";
      }
    });
    done.addEventListener("click", () => {
      secret.textContent = "";
      box.remove();
      say("");
    });
    slot.append(box);
    secret.focus();
  }

  function chart(key, days) {
    const width = 4;
    const height = 40;
    const max = Math.max(1, ...days.map((d) => d.count));
    const total = days.reduce((n, d) => n + d.count, 0);
    const svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("data-usage-chart", key.id);
    svg.setAttribute("viewBox", "0 0 " + days.length * width + " " + height);
    svg.setAttribute("width", String(days.length * width));
    svg.setAttribute("height", String(height));
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", total + " requests in the last " + days.length + " days");
    days.forEach((d, i) => {
      const h = d.count === 0 ? 0 : Math.max(1, Math.round((d.count / max) * height));
      const rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("data-day", d.date);
      rect.setAttribute("data-count", String(d.count));
      rect.setAttribute("x", String(i * width));
      rect.setAttribute("y", String(height - h));
      rect.setAttribute("width", String(width - 1));
      rect.setAttribute("height", String(h));
      const title = document.createElementNS(SVG, "title");
      title.textContent = d.date + ": " + d.count + " requests";
      rect.append(title);
      svg.append(rect);
    });
    return svg;
  }

  function row(key) {
    const status = statusOf(key);
    const live = status === "active" || status === "rotating" || status === "disabled";
    const actions = el("td", { class: "actions" });
    if (live) {
      const label = (what) => what + " “" + key.name + "”";
      const edit = el("button", { type: "button", "data-action": "edit", "aria-label": label("Edit") }, "Edit");
      const rotate = el("button", { type: "button", "data-action": "rotate", "aria-label": label("Rotate") }, "Rotate");
      const revoke = el(
        "button",
        { type: "button", "data-action": "revoke", class: "danger", "aria-label": label("Revoke") },
        "Revoke",
      );
      edit.addEventListener("click", () => editKey(key));
      rotate.addEventListener("click", () => rotateKey(key));
      revoke.addEventListener("click", () => revokeKey(key));
      actions.append(edit, rotate, revoke);
    }
    const usage = el("td", { class: "usage", "data-label": "Requests, 30 days" });
    return [
      el(
        "tr",
        { "data-key-id": key.id },
        el("td", { "data-label": "Name" }, key.name),
        el("td", { "data-label": "Key" }, el("code", {}, key.prefix + "…")),
        el("td", { "data-label": "Scopes" }, scopesOf(key).join(", ") || "none"),
        el("td", { "data-label": "Created", class: "when" }, day(key.created_at)),
        el("td", { "data-label": "Last used", class: "when" }, when(key.last_used)),
        el("td", { "data-label": "Expires", class: "when" }, day(key.expires_at)),
        el("td", { "data-label": "Status" }, el("span", { class: "badge " + status }, status)),
        usage,
        actions,
      ),
      usage,
    ];
  }

  async function loadUsage(key, cell) {
    try {
      const usage = await call("GET", "api/v1/api-keys/" + encodeURIComponent(key.id) + "/usage?days=" + DAYS);
      cell.replaceChildren(chart(key, usage.data));
    } catch (e) {
      cell.textContent = "unavailable";
    }
  }

  async function refresh() {
    const keys = [];
    let after = null;
    do {
      const query = after ? "?limit=100&after=" + encodeURIComponent(after) : "?limit=100";
      const page = await call("GET", "api/v1/api-keys" + query);
      keys.push(...page.data);
      after = page.next;
    } while (after);
    state.keys = keys;
    const body = $("keys-body");
    const rows = keys.map(row);
    body.replaceChildren(...rows.map(([tr]) => tr));
    await Promise.all(rows.map(([, cell], i) => loadUsage(keys[i], cell)));
    $("keys").setAttribute("data-loaded", String(keys.length));
  }

  async function create(event) {
    event.preventDefault();
    const form = $("create-form");
    const body = { name: $("create-name").value };
    body[state.session.scopes_field] = chosenScopes($("create-scopes"));
    const expires = expiryOf($("create-expires"));
    if (expires) body.expires_at = expires;
    body.environment = $("create-environment").value;
    try {
      const minted = await call("POST", "api/v1/api-keys", body);
      form.reset();
      showSecret(minted, "Your new key “" + minted.name + "”.");
      await refresh();
      say("Key created.");
    } catch (e) {
      say(e.message, true);
    }
  }

  function ask(dialog) {
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue), { once: true });
      dialog.returnValue = "cancel";
      dialog.showModal();
    });
  }

  async function revokeKey(key) {
    $("confirm-text").textContent = "Revoke “" + key.name + "”? Requests with it will fail at once. This cannot be undone.";
    if ((await ask($("confirm-dialog"))) !== "confirm") return;
    try {
      await call("DELETE", "api/v1/api-keys/" + encodeURIComponent(key.id));
      await refresh();
      say("Key “" + key.name + "” revoked.");
    } catch (e) {
      say(e.message, true);
    }
  }

  async function rotateKey(key) {
    $("rotate-title").textContent = "Rotate “" + key.name + "”";
    if ((await ask($("rotate-dialog"))) !== "rotate") return;
    const grace = Number($("rotate-grace").value);
    try {
      const minted = await call("POST", "api/v1/api-keys/" + encodeURIComponent(key.id) + "/rotate", {
        grace_period_seconds: grace,
      });
      showSecret(minted, "The new key for “" + minted.name + "”.");
      await refresh();
      say("Key rotated.");
    } catch (e) {
      say(e.message, true);
    }
  }

  async function editKey(key) {
    const held = scopesOf(key);
    const date = key.expires_at ? String(key.expires_at).slice(0, 10) : "";
    $("edit-title").textContent = "Edit “" + key.name + "”";
    $("edit-name").value = key.name;
    $("edit-expires").value = date;
    scopeBoxes($("edit-scopes"), "edit", held);
    if ((await ask($("edit-dialog"))) !== "save") return;
    // Only what was changed is sent: an expiry left alone keeps its time of day, and scopes
    // the list does not show (wildcards, scopes this session cannot grant) are kept.
    const body = {};
    const name = $("edit-name").value;
    if (name !== key.name) body.name = name;
    if ($("edit-expires").value !== date) body.expires_at = expiryOf($("edit-expires"));
    const known = state.session.known_scopes;
    const scopes = chosenScopes($("edit-scopes")).concat(held.filter((s) => !known.includes(s)));
    const same = scopes.length === held.length && scopes.every((s) => held.includes(s));
    if (!same) body[state.session.scopes_field] = scopes;
    if (Object.keys(body).length === 0) return;
    try {
      await call("PATCH", "api/v1/api-keys/" + encodeURIComponent(key.id), body);
      await refresh();
      say("Key “" + (body.name || key.name) + "” saved.");
    } catch (e) {
      say(e.message, true);
    }
  }

  async function signIn(event) {
    event.preventDefault();
    const input = $("login-key");
    const key = input.value;
    input.value = "";
    const error = $("login-error");
    error.hidden = true;
    try {
      await call("POST", "login", { key });
      await start();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      input.focus();
    }
  }

  async function signOut() {
    try {
      await call("POST", "logout", {});
    } finally {
      state.session = null;
      $("secret-slot").replaceChildren();
      await start();
    }
  }

  function showSignedIn(session) {
    $("login").hidden = true;
    $("elsewhere").hidden = true;
    $("keys").hidden = false;
    $("sign-out").hidden = !session.sign_out;
    $("who").textContent = session.workspace_id + (session.user_id ? " · " + session.user_id : "");
    scopeBoxes($("create-scopes"), "create", []);
    const env = $("create-environment");
    env.replaceChildren(...session.environments.map((e) => el("option", { value: e }, e)));
  }

  function showSignedOut(session) {
    $("keys").hidden = true;
    $("sign-out").hidden = true;
    $("who").textContent = "";
    if (session.login_url) {
      $("login-link").setAttribute("href", session.login_url);
      $("elsewhere").hidden = false;
    } else {
      $("login").hidden = false;
      $("login-key").focus();
    }
  }

  async function start() {
    say("");
    try {
      const session = await call("GET", "session");
      state.session = session.signed_in ? session : null;
      if (session.signed_in) {
        showSignedIn(session);
        await refresh();
      } else {
        showSignedOut(session);
      }
    } catch (e) {
      say(e.message, true);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", signIn);
    $("create-form").addEventListener("submit", create);
    $("sign-out").addEventListener("click", signOut);
    start();
  });
})();
