// The approver inbox of `ward serve` (docs/approvals.md). No framework and no build step.
//
// Security: the token lives in this tab's sessionStorage and is sent only as an
// `Authorization: Bearer` header to this origin (no cookies, so no cross-site request can act
// as the approver); the page's Content-Security-Policy allows scripts, styles and requests to
// this origin only. Everything shown comes from the agent's request, so it is untrusted text:
// it is only ever put into the page with `textContent`, never parsed as HTML.
"use strict";

(function () {
  const KEY = "ward.token";
  const $ = (id) => document.getElementById(id);
  let view = "pending";
  let timer = null;

  function token() {
    return sessionStorage.getItem(KEY);
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  async function api(method, path, body) {
    const headers = { "Authorization": "Bearer " + token(), "Accept": "application/json" };
    const init = { method, headers, cache: "no-store", credentials: "omit", redirect: "error" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    let doc = null;
    try { doc = await response.json(); } catch (_) { doc = null; }
    if (response.status === 401) {
      signOut("The token was not accepted: sign in again.");
      throw new Error("unauthenticated");
    }
    if (!response.ok) {
      const message = doc && doc.error && typeof doc.error.message === "string"
        ? doc.error.message : "the server answered " + response.status;
      throw new Error(message);
    }
    return doc;
  }

  function showSignedIn(signedIn) {
    $("sign-in-view").hidden = signedIn;
    $("inbox-view").hidden = !signedIn;
    $("session").hidden = !signedIn;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    if (timer) { clearInterval(timer); timer = null; }
    $("list").replaceChildren();
    $("who").textContent = "";
    $("sign-in-error").textContent = message || "";
    showSignedIn(false);
  }

  async function signIn(event) {
    event.preventDefault();
    const value = $("token").value.trim();
    $("token").value = "";
    if (!value) return;
    sessionStorage.setItem(KEY, value);
    $("sign-in-error").textContent = "";
    try {
      await load();
    } catch (e) {
      if (e.message !== "unauthenticated") signOut(e.message);
      return;
    }
    showSignedIn(true);
    timer = setInterval(() => { load().catch(() => {}); }, 10000);
  }

  function fmt(value) {
    return JSON.stringify(value, null, 2);
  }

  function need(n) {
    const who = n.approvers.length ? n.approvers.join(", ") : "nobody (the rule names no approver)";
    const state = n.approved_by ? "approved by " + n.approved_by : "waiting for " + who;
    return el("li", { class: "need" },
      el("strong", {}, n.rule), " — ", n.message === null ? "(no message)" : n.message,
      el("br"), el("span", { class: "need-state" }, state));
  }

  function historyEntry(h) {
    const by = h.by === null ? "the server's clock" : h.by;
    const comment = h.comment ? ": “" + h.comment + "”" : "";
    return el("li", {}, h.at + " — " + h.action + " by " + by + comment);
  }

  function card(a) {
    const request = a.request || {};
    const article = el("article", { class: "approval", "data-id": a.id, "data-status": a.status },
      el("h2", {}, el("span", { class: "action" }, String(request.action)),
        el("span", { class: "badge " + a.status }, a.status)),
      el("p", { class: "meta" },
        "requested by " + a.requested_by + " · created " + a.created + " · expires " + a.expires + " · " + a.id),
      el("h3", {}, "Why it needs approval"),
      el("ul", { class: "needs" }, ...a.needs.map(need)),
      el("h3", {}, "Arguments"),
      el("pre", { class: "args" }, fmt(request.args)),
      el("h3", {}, "Context"),
      el("pre", { class: "context" }, fmt(request.context)),
      el("details", {}, el("summary", {}, "History"),
        el("ul", { class: "history" }, ...a.history.map(historyEntry))));
    if (a.status === "pending") {
      const comment = el("textarea", { class: "comment", placeholder: "Comment (ticket, reason)", maxLength: 2000 });
      const result = el("p", { class: "result", role: "status" });
      const act = (verb) => async () => {
        for (const b of article.querySelectorAll("button")) b.disabled = true;
        try {
          const updated = await api("POST", "/v1/approvals/" + encodeURIComponent(a.id) + "/" + verb,
            { comment: comment.value });
          result.textContent = verb === "approve"
            ? (updated.status === "approved" ? "Approved." : "Your approval is recorded; others still need to approve.")
            : "Rejected.";
          article.setAttribute("data-status", updated.status);
          const badge = article.querySelector(".badge");
          badge.textContent = updated.status;
          badge.className = "badge " + updated.status;
        } catch (e) {
          result.textContent = e.message;
          result.className = "result error";
          for (const b of article.querySelectorAll("button")) b.disabled = false;
        }
      };
      const approve = el("button", { type: "button", class: "approve" }, "Approve");
      const reject = el("button", { type: "button", class: "reject" }, "Reject");
      approve.addEventListener("click", act("approve"));
      reject.addEventListener("click", act("reject"));
      article.append(el("label", {}, "Comment"), comment, el("div", { class: "actions" }, approve, reject), result);
    }
    return article;
  }

  async function load() {
    const path = view === "pending" ? "/v1/approvals?status=pending" : "/v1/approvals?status=all&limit=200";
    $("status").textContent = "Loading…";
    const doc = await api("GET", path);
    $("who").textContent = "signed in as " + doc.principal;
    const list = Array.isArray(doc.approvals) ? doc.approvals : [];
    $("list").replaceChildren(...list.map(card));
    const empty = $("empty");
    empty.hidden = list.length > 0;
    empty.textContent = view === "pending" ? "No pending approvals name you." : "No approvals yet.";
    $("status").textContent = "";
  }

  function select(which) {
    view = which;
    $("tab-pending").setAttribute("aria-pressed", String(which === "pending"));
    $("tab-history").setAttribute("aria-pressed", String(which === "history"));
    load().catch((e) => { $("status").textContent = e.message; });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("sign-in-form").addEventListener("submit", signIn);
    $("sign-out").addEventListener("click", () => signOut(""));
    $("tab-pending").addEventListener("click", () => select("pending"));
    $("tab-history").addEventListener("click", () => select("history"));
    $("refresh").addEventListener("click", () => select(view));
    if (token()) {
      load().then(() => {
        showSignedIn(true);
        timer = setInterval(() => { load().catch(() => {}); }, 10000);
      }).catch(() => {});
    }
  });
})();
