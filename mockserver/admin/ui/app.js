"use strict";
// The mockserver dashboard: reads the admin API (with the admin token, if the server has one)
// and polls the journal with a since-cursor, so new requests appear without a reload.
(() => {
  const API = "/__admin";
  const POLL_MS = 1000;
  const KEEP = 1000; // rows kept in the page, like the journal's default capacity
  const TOKEN_KEY = "mockserver-admin-token";
  const entries = new Map();
  let cursor = 0;
  let shownSession = "";  // the journal shown is this session's (x-mock-session); "": default
  let timer = null;

  const $ = (selector) => document.querySelector(selector);

  function takeTokenFromFragment() {
    const match = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (match) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      history.replaceState(null, "", location.pathname); // keep it out of history and screenshots
    }
  }

  async function api(path, options = {}) {
    const headers = { ...(options.headers || {}) };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers["x-mock-admin-token"] = token;
    const response = await fetch(API + path, { ...options, headers });
    if (response.status === 401) {
      $("#login").hidden = false;
      throw new Error("the admin token is needed");
    }
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  function say(text) { $("#status").textContent = text; }

  function cell(row, text, className) {
    const td = row.insertCell();
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function sessionOf(entry) { return entry.headers["x-mock-session"] || ""; }

  function answeredBy(entry) {
    const engine = entry.stub_id ? `stub ${entry.stub_id}` : entry.source;
    return entry.fault ? `${engine}, fault ${entry.fault}` : engine;
  }

  function tokens(entry) {
    const u = entry.usage;
    return u ? `${u.prompt_tokens} / ${u.completion_tokens} / ${u.reasoning_tokens}` : "-";
  }

  function route(entry) { return `${entry.method} ${entry.path}`; }

  // The table names the operation; the deployment has its own column.
  function shortRoute(entry) {
    const path = entry.path.replace(/^\/openai\/deployments\/[^/]+\//, "").replace(/^\/openai\//, "");
    return `${entry.method} ${path}`;
  }

  function promptText(entry) {
    return JSON.stringify(entry.body ?? entry.body_text ?? "").toLowerCase();
  }

  function filters() {
    return {
      session: $("#f-session").value.trim(),
      deployment: $("#f-deployment").value.trim(),
      status: $("#f-status").value.trim(),
      text: $("#f-text").value.trim().toLowerCase(),
    };
  }

  function shown(entry, f) {
    return (!f.deployment || entry.deployment === f.deployment)
      && (!f.status || String(entry.status) === f.status)
      && (!f.text || promptText(entry).includes(f.text));
  }

  function journalRow(entry) {
    const row = document.createElement("tr");
    row.dataset.id = entry.id;
    const open = document.createElement("button");
    open.type = "button";
    open.textContent = `#${entry.id}`;
    open.setAttribute("aria-label", `open request ${entry.id}`);
    open.addEventListener("click", () => showDetail(entry));
    row.insertCell().append(open);
    cell(row, new Date(entry.time * 1000).toLocaleTimeString());
    cell(row, shortRoute(entry)).title = entry.path;
    cell(row, entry.deployment);
    cell(row, sessionOf(entry));
    cell(row, String(entry.status), entry.status >= 400 || entry.status === 0 ? "bad" : "");
    cell(row, tokens(entry));
    cell(row, `${Math.round(entry.duration_ms)} ms`);
    // Stub ids are long hex: the table shows their start, the tooltip and detail the whole.
    cell(row, answeredBy(entry).replace(/^(stub [0-9a-f]{8})[0-9a-f]{9,}/, "$1…")).title = answeredBy(entry);
    return row;
  }

  function renderJournal() {
    const f = filters();
    const rows = [...entries.values()].reverse().filter((e) => shown(e, f)).map(journalRow);
    $("#journal tbody").replaceChildren(...rows);
  }

  function fact(list, name, value) {
    const dt = document.createElement("dt");
    dt.textContent = name;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function showDetail(entry) {
    const facts = $("#detail-facts");
    facts.replaceChildren();
    fact(facts, "Route", route(entry));
    fact(facts, "Status", String(entry.status));
    fact(facts, "Deployment", entry.deployment || "-");
    fact(facts, "Session", sessionOf(entry) || "-");
    fact(facts, "Answered by", answeredBy(entry));
    fact(facts, "Streamed", entry.stream ? "yes" : "no");
    fact(facts, "Tokens (prompt / completion / reasoning)", tokens(entry));
    fact(facts, "Latency", `${entry.duration_ms} ms`);
    showMiss(entry.replay_miss);
    $("#detail-title").textContent = `Request #${entry.id}`;
    $("#detail-headers").textContent = JSON.stringify(entry.headers, null, 2);
    $("#detail-body").textContent = entry.body !== null
      ? JSON.stringify(entry.body, null, 2) : (entry.body_text ?? "");
    $("#detail-response").textContent = entry.response_body === null
      ? (entry.stream ? "(a stream: its frames are not kept)" : "(none)")
      : JSON.stringify(entry.response_body, null, 2);
    $("#detail").hidden = false;
    $("#close-detail").focus();
  }

  function showMiss(miss) {
    $("#detail-miss").hidden = !miss;
    if (!miss) return;
    $("#miss-nearest").textContent = miss.nearest;
    const fields = miss.differs.length ? miss.differs : ["nothing (its replays are used up)"];
    $("#miss-fields").replaceChildren(...fields.map((field) =>
      Object.assign(document.createElement("li"), { textContent: field })));
  }

  async function pollJournal() {
    const session = $("#f-session").value.trim();
    if (session !== shownSession) {  // another session's journal: start it from the top
      shownSession = session;
      entries.clear();
      cursor = 0;
      renderJournal();
    }
    const scope = session ? `&session=${encodeURIComponent(session)}` : "";
    const found = await api(`/requests?since=${cursor}${scope}`);
    for (const entry of found.requests) {
      entries.set(entry.id, entry);
      cursor = Math.max(cursor, entry.id);
    }
    while (entries.size > KEEP) entries.delete(entries.keys().next().value);
    if (found.requests.length) renderJournal();
  }

  function stubItem(stub) {
    const item = document.createElement("li");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `delete stub ${stub.id}`);
    remove.addEventListener("click", () => deleteStub(stub.id));
    item.append(`${stub.id} `, remove);
    return item;
  }

  async function deleteStub(id) {
    if (!confirm(`Delete stub ${id}?`)) return;
    await api(`/stubs/${encodeURIComponent(id)}`, { method: "DELETE" });
    say(`deleted stub ${id}`);
    await refreshStubs();
  }

  async function refreshStubs() {
    const [stubs, scenarios] = await Promise.all([api("/stubs"), api("/scenarios")]);
    const items = stubs.stubs.map(stubItem);
    if (!items.length) items.push(Object.assign(document.createElement("li"), { textContent: "none" }));
    $("#stubs").replaceChildren(...items);
    const states = Object.entries(scenarios.scenarios).map(([name, state]) =>
      Object.assign(document.createElement("li"), { textContent: `${name}: ${state}` }));
    $("#scenarios").replaceChildren(...states);
  }

  async function refreshQuota() {
    const quota = await api("/quota");
    const rows = Object.entries(quota.deployments).map(([name, d]) => {
      const row = document.createElement("tr");
      cell(row, name);
      cell(row, `${d.tokens_this_minute} / ${d.tokens_per_minute}`);
      cell(row, `${d.requests_last_minute} / ${d.requests_per_minute}`);
      cell(row, d.enforced ? "yes" : "no");
      return row;
    });
    $("#quota tbody").replaceChildren(...rows);
  }

  async function resetAll() {
    if (!confirm("Reset stubs, scenarios, journal and quota?")) return;
    await api("/reset", { method: "POST" });
    entries.clear();
    renderJournal();
    $("#detail").hidden = true;
    say("reset");
    await refreshStubs();
  }

  async function tick() {
    try {
      await Promise.all([pollJournal(), refreshStubs(), refreshQuota()]);
      say(`live, updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      say(String(error.message || error));
    } finally {
      timer = setTimeout(tick, POLL_MS);
    }
  }

  function useTypedToken(event) {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("#token-field").value);
    $("#token-field").value = "";
    $("#login").hidden = true;
    clearTimeout(timer);
    tick();
  }

  function start() {
    takeTokenFromFragment();
    $("#login").addEventListener("submit", useTypedToken);
    $("#filters").addEventListener("input", renderJournal);
    $("#filters").addEventListener("submit", (event) => event.preventDefault());
    $("#close-detail").addEventListener("click", () => { $("#detail").hidden = true; });
    $("#reset").addEventListener("click", resetAll);
    tick();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
