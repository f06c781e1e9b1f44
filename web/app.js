/* Outpost dashboard: reads only the JSON API (/v1).  Sign in by opening
 * /#token=TOKEN: the fragment never reaches the server; the token is kept in
 * sessionStorage and removed from the address bar. */
"use strict";

const KEY = "outpost.token";
const main = document.getElementById("main");
let me = null; // {name, scope, account} of the token
let chart = null;

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined) e.setAttribute(k, v);
  }
  for (const k of kids.flat()) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function takeTokenFromFragment() {
  const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + "#/");
  }
}

async function api(method, path, body) {
  const opt = { method, headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) } };
  if (body !== undefined) {
    opt.headers["Content-Type"] = "application/json";
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(path, opt);
  const data = r.status === 204 ? null : await r.json();
  if (!r.ok) throw new Error((data && (data.detail || data.title)) || r.statusText);
  return data;
}

function badge(state) {
  return el("span", { class: "badge " + state, "data-state": state }, state);
}

function pct(v) { return v.toFixed(2) + " %"; }

/* "1.20 % (review 5 %, pause 10 %)", marked when over a threshold. */
function rateCell(rate, review, pause) {
  const over = (pause > 0 && rate >= pause) || (review > 0 && rate >= review);
  return el("span", { class: over ? "over" : "" }, pct(rate),
    el("span", { class: "muted" }, " (review " + review + " %, pause " + pause + " %)"));
}

function signIn(msg) {
  const input = el("input", { type: "password", id: "token", placeholder: "opk_…", "aria-label": "token" });
  main.replaceChildren(el("h1", {}, "Sign in"),
    msg ? el("p", { class: "error" }, msg) : "",
    el("p", {}, "Open this page as /#token=TOKEN, or paste a token from ",
      el("code", {}, "outpostctl token add NAME --scope read"), "."),
    el("form", { onsubmit: (e) => { e.preventDefault(); sessionStorage.setItem(KEY, input.value.trim()); route(); } },
      input, " ", el("button", { type: "submit" }, "Sign in")));
}

let sortKey = "account", sortDir = 1, stateFilter = "";

async function accountsPage() {
  const data = await api("GET", "/v1/accounts");
  const rows = data.accounts
    .filter((a) => !stateFilter || a.state === stateFilter)
    .sort((a, b) => {
      const va = sortKey === "bounce" ? a.reputation.bounce_rate : sortKey === "complaint" ? a.reputation.complaint_rate : a[sortKey];
      const vb = sortKey === "bounce" ? b.reputation.bounce_rate : sortKey === "complaint" ? b.reputation.complaint_rate : b[sortKey];
      return (va < vb ? -1 : va > vb ? 1 : 0) * sortDir;
    });
  const head = (key, label) => el("th", { "aria-sort": sortKey === key ? (sortDir > 0 ? "ascending" : "descending") : "none" },
    el("button", { type: "button", onclick: () => { sortDir = sortKey === key ? -sortDir : 1; sortKey = key; accountsPage(); } }, label));
  const filter = el("select", { id: "state-filter", "aria-label": "filter by state",
    onchange: (e) => { stateFilter = e.target.value; accountsPage(); } },
    ["", "active", "review", "paused"].map((s) => el("option", s === stateFilter ? { value: s, selected: "" } : { value: s }, s || "every state")));
  main.replaceChildren(el("h1", {}, "Accounts"),
    el("div", { class: "controls" }, el("label", {}, "State ", filter), el("span", { class: "muted" }, rows.length + " shown")),
    el("table", { class: "accounts", id: "accounts" },
      el("thead", {}, el("tr", {}, head("account", "Account"), head("state", "State"), head("bounce", "Bounce rate"),
        head("complaint", "Complaint rate"), el("th", {}, "Reason"))),
      el("tbody", {}, rows.map((a) => {
        const t = a.reputation.thresholds;
        return el("tr", { "data-account": a.account },
          el("td", { "data-label": "Account" }, el("a", { href: "#/account/" + encodeURIComponent(a.account) }, a.account)),
          el("td", { "data-label": "State" }, badge(a.state)),
          el("td", { "data-label": "Bounce rate" }, rateCell(a.reputation.bounce_rate, t.bounce_review, t.bounce_pause)),
          el("td", { "data-label": "Complaint rate" }, rateCell(a.reputation.complaint_rate, t.complaint_review, t.complaint_pause)),
          el("td", { "data-label": "Reason", class: "reason" }, a.reason));
      }))));
}

function drawChart(stats) {
  const canvas = document.getElementById("volume-chart");
  if (chart) chart.destroy();
  if (typeof Chart === "undefined") {
    canvas.replaceWith(el("p", { class: "error" }, "Chart.js is not installed (libjs-chart.js)."));
    return;
  }
  const labels = stats.series.map((p) => p.time.slice(5, 13).replace("T", " ") + "h");
  const line = (label, key, dash, color) => ({ label, data: stats.series.map((p) => p[key]), borderDash: dash,
    borderColor: color, backgroundColor: color, pointRadius: 0, borderWidth: 2 });
  chart = new Chart(canvas, {
    type: "line",
    data: { labels, datasets: [line("delivered", "delivered", [], "#116329"),
      line("hard bounces", "hard_bounces", [6, 3], "#a40e26"), line("soft bounces", "soft_bounces", [2, 2], "#7a4d00"),
      line("complaints", "complaints", [10, 3, 2, 3], "#0b5cad")] },
    options: { animation: false, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
      scales: { y: { beginAtZero: true } } },
  });
}

async function changeState(name, verb) {
  const reason = document.getElementById("reason").value.trim();
  const out = document.getElementById("action-result");
  try {
    await api("POST", "/v1/accounts/" + encodeURIComponent(name) + "/" + verb, reason ? { reason } : {});
    await accountPage(name);
    document.getElementById("action-result").textContent = "done: " + verb;
  } catch (e) {
    out.textContent = e.message;
  }
}

async function suppressions(name, filter) {
  const data = await api("GET", "/v1/suppression?limit=200&account=" + encodeURIComponent(name));
  const rows = data.entries.filter((e) => !filter || e.address.includes(filter));
  return el("table", { id: "suppressions" },
    el("thead", {}, el("tr", {}, ["Address", "Reason", "First seen", "Expires"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map((e) => el("tr", {}, el("td", {}, e.address), el("td", {}, e.reason),
      el("td", {}, e.first_seen), el("td", {}, e.expires || "never")))));
}

/* What an event says beyond its type: "user-unknown 5.1.1: 550 …", "active → paused: …". */
function eventDetail(e) {
  const parts = [];
  if (e.from || e.to) parts.push((e.from || "?") + " → " + (e.to || "?"));
  if (e.class) parts.push(e.class);
  if (e.dsn) parts.push(e.dsn);
  if (e.rate !== undefined) parts.push(pct(e.rate));
  const head = parts.join(" ");
  if (!e.reason) return head;
  return head && !e.reason.startsWith(head) ? head + ": " + e.reason : e.reason;
}

/* The account's recent events (bounces, complaints, refusals, state changes), newest first. */
async function recentEvents(name) {
  let data;
  try {
    data = await api("GET", "/v1/events?limit=50&account=" + encodeURIComponent(name));
  } catch (e) {
    return el("p", { class: "error", id: "events" }, "Events: " + e.message);
  }
  if (!data.enabled) return el("p", { class: "muted", id: "events" }, "No event log is configured (feedback.event_log).");
  if (!data.events.length) return el("p", { class: "muted", id: "events" }, "No recent events.");
  return el("table", { id: "events" },
    el("thead", {}, el("tr", {}, ["Time", "Event", "Recipient", "Detail"].map((h) => el("th", {}, h)))),
    el("tbody", {}, data.events.slice().reverse().map((e) => el("tr", { "data-type": e.type, class: "event " + e.type },
      el("td", { "data-label": "Time" }, e.ts.replace("T", " ").replace(/\.\d+Z$/, "Z")),
      el("td", { "data-label": "Event" }, e.type),
      el("td", { "data-label": "Recipient" }, e.recipient || "—"),
      el("td", { "data-label": "Detail" }, eventDetail(e))))));
}

async function accountPage(name) {
  const enc = encodeURIComponent(name);
  const [a, stats] = await Promise.all([api("GET", "/v1/accounts/" + enc), api("GET", "/v1/accounts/" + enc + "/stats?from=7d&step=6h")]);
  const r = a.reputation, t = r.thresholds;
  const actions = me && me.scope === "write"
    ? el("section", { id: "actions" }, el("h2", {}, "Change state"),
        el("div", { class: "controls" },
          el("input", { id: "reason", placeholder: "reason", "aria-label": "reason", maxlength: "255" }),
          ["pause", "review", "resume"].map((v) => el("button", { type: "button", class: "act", id: "do-" + v,
            disabled: (v === "pause" && a.state === "paused") || (v === "review" && a.state === "review") || (v === "resume" && a.state === "active") ? "" : null,
            onclick: () => changeState(name, v) }, v)),
          el("span", { id: "action-result", "aria-live": "polite" })))
    : el("p", { class: "muted" }, "A read-only token: state changes need a write token.");
  const search = el("input", { id: "supp-search", placeholder: "search addresses", "aria-label": "search suppressions" });
  const suppBox = el("div", {}, await suppressions(name, ""));
  const events = await recentEvents(name);
  search.addEventListener("input", async () => suppBox.replaceChildren(await suppressions(name, search.value.trim())));
  main.replaceChildren(
    el("p", {}, el("a", { href: "#/" }, "← accounts")),
    el("h1", {}, name, " ", badge(a.state)),
    el("dl", { class: "facts" },
      el("dt", {}, "State"), el("dd", { id: "state" }, a.state + " since " + a.since),
      el("dt", {}, "Reason"), el("dd", { id: "reason-text" }, a.reason || "—"),
      el("dt", {}, "Bounce rate"), el("dd", {}, rateCell(r.bounce_rate, t.bounce_review, t.bounce_pause)),
      el("dt", {}, "Complaint rate"), el("dd", {}, rateCell(r.complaint_rate, t.complaint_review, t.complaint_pause)),
      el("dt", {}, "Evidence"), el("dd", {}, r.evidence),
      el("dt", {}, "Daily quota"), el("dd", {}, a.quota.daily.used + " of " + (a.quota.daily.limit ?? "no limit"))),
    actions,
    el("h2", {}, "Volume, last 7 days"),
    el("div", { class: "chart-box" }, el("canvas", { id: "volume-chart", role: "img", "aria-label": "delivered, bounces and complaints over time" })),
    el("h2", {}, "History"),
    el("table", { id: "history" }, el("tbody", {}, a.history.slice().reverse().map((h) =>
      el("tr", {}, el("td", {}, h.time), el("td", {}, h.from + " → " + h.to), el("td", {}, h.by), el("td", {}, h.reason))))),
    el("h2", {}, "Recent events"), events,
    el("h2", {}, "Suppression list"), search, suppBox);
  drawChart(stats);
}

async function route() {
  takeTokenFromFragment();
  const signout = document.getElementById("signout");
  if (!sessionStorage.getItem(KEY)) { signout.hidden = true; signIn(); return; }
  try {
    if (!me) me = await api("GET", "/v1/token");
    document.getElementById("who").textContent = "signed in as " + me.name + " (" + me.scope + (me.account ? ", account " + me.account : "") + ")";
    signout.hidden = false;
    const m = location.hash.match(/^#\/account\/(.+)$/);
    if (m) await accountPage(decodeURIComponent(m[1]));
    else await accountsPage();
  } catch (e) {
    if (/token/i.test(e.message)) { sessionStorage.removeItem(KEY); me = null; signIn(e.message); }
    else main.replaceChildren(el("p", { class: "error" }, e.message));
  }
}

document.getElementById("signout").addEventListener("click", () => { sessionStorage.removeItem(KEY); me = null; location.hash = "#/"; route(); });
window.addEventListener("hashchange", route);
route();
