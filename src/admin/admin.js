// The admin page: plain DOM, no framework, everything from this server.
// Data is only ever put into the page as text (h() below), never as HTML.
// The token lives in sessionStorage (this tab, until it closes), never in a URL.

const TOKEN_KEY = "event-store-token";
const PAGE_SIZES = [25, 50, 100, 500];
const REFRESH_MS = 2000;

const main = document.getElementById("main");
const statusBox = document.getElementById("status");
const signOut = document.getElementById("sign-out");
/** Aborted when the screen changes: its timers and long-polls end with it. */
let screen = new AbortController();

class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
  }
}

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) node.append(child instanceof Node ? child : String(child));
  return node;
}

async function api(method, path, { signal, text = false } = {}) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  const response = await fetch(path, { method, headers, signal });
  if (response.status === 401) {
    showLogin(token ? "That token was refused." : "This server needs a token.");
    throw new ApiError(401, { error: "unauthorized", code: "UNAUTHORIZED" });
  }
  if (text) return response.text();
  const body = response.headers.get("content-type")?.includes("json") ? await response.json() : null;
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function say(message) {
  statusBox.textContent = message;
  statusBox.hidden = false;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => (statusBox.hidden = true), 3000);
}

function render(...nodes) {
  main.replaceChildren(...nodes);
}

function failure(error) {
  if (error?.name === "AbortError" || error?.status === 401) return;
  render(h("p", { class: "error", role: "alert" }, `Error: ${error.message}${error.code ? ` (${error.code})` : ""}`));
}

function showLogin(reason) {
  screen.abort();
  signOut.hidden = true;
  const input = h("input", { type: "password", id: "token", name: "token", autocomplete: "current-password", required: true, size: 40 });
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: (event) => {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, input.value);
        route();
      },
    },
    h("h2", {}, "Sign in"),
    h("p", { class: "muted" }, reason, " The token is kept for this tab only (sessionStorage)."),
    h("label", { for: "token" }, "Bearer token "),
    input,
    " ",
    h("button", { type: "submit", class: "primary" }, "Use token"),
  );
  render(form);
  input.focus();
}

signOut.addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin("Token forgotten.");
});

function formatTime(iso) {
  return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "—";
}

function formatAge(seconds) {
  if (!seconds) return "0 s";
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function copyButton(text) {
  return h(
    "button",
    {
      type: "button",
      title: `Copy ${text}`,
      "aria-label": `Copy id ${text}`,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(text);
          say(`Copied ${text}`);
        } catch {
          say("Copy is not allowed here");
        }
      },
    },
    "Copy",
  );
}

// ---- Topics ----

async function topicsScreen(signal) {
  const { topics: names } = await api("GET", "/topics", { signal });
  const topics = await Promise.all(names.map((name) => api("GET", `/topics/${encodeURIComponent(name)}`, { signal })));
  const rows = topics.map((topic) =>
    h(
      "tr",
      {},
      h("td", {}, h("a", { href: `#/topics/${encodeURIComponent(topic.name)}` }, topic.name)),
      h("td", { class: "num" }, topic.sequence),
      h("td", { class: "hide-narrow" }, formatTime(topic.createdAt)),
      h(
        "td",
        {},
        h("details", {}, h("summary", {}, topic.schemas.map((s) => s.eventType).join(", ") || "—"), h("pre", {}, JSON.stringify(topic.schemas, null, 2))),
      ),
    ),
  );
  render(
    h("h2", {}, "Topics"),
    topics.length === 0
      ? h("p", { class: "muted" }, "No topics yet.")
      : h(
          "div",
          { class: "scroll" },
          h(
            "table",
            { "aria-label": "Topics" },
            h("thead", {}, h("tr", {}, h("th", {}, "Topic"), h("th", { class: "num" }, "Head"), h("th", { class: "hide-narrow" }, "Created"), h("th", {}, "Schemas"))),
            h("tbody", {}, rows),
          ),
        ),
  );
}

// ---- Events of a topic ----

function eventRow(event) {
  return h(
    "tr",
    { "data-id": event.id },
    h("td", { class: "mono" }, event.id, " ", copyButton(event.id)),
    h("td", { class: "hide-narrow mono" }, formatTime(event.timestamp)),
    h("td", {}, event.type),
    h("td", {}, h("details", {}, h("summary", { class: "mono" }, preview(event.payload)), h("pre", {}, JSON.stringify(event, null, 2)))),
  );
}

function preview(payload) {
  const text = JSON.stringify(payload);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

async function eventsScreen(signal, topic, params) {
  const since = params.get("since") ?? "";
  const date = params.get("date") ?? "";
  const limit = Number(params.get("limit") ?? 50);
  const query = new URLSearchParams({ limit: String(limit) });
  if (since) query.set("sinceEventId", since);
  if (date) query.set("date", date);
  const path = `/topics/${encodeURIComponent(topic)}/events`;
  const [{ events }, details] = await Promise.all([api("GET", `${path}?${query}`, { signal }), api("GET", `/topics/${encodeURIComponent(topic)}`, { signal })]);

  const go = (next) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(next)) if (value) search.set(key, String(value));
    location.hash = `#/topics/${encodeURIComponent(topic)}?${search}`;
  };
  const dateInput = h("input", { type: "date", name: "date", value: date });
  const sinceInput = h("input", { type: "text", name: "since", value: since, placeholder: `${topic}-0`, size: 18 });
  const limitSelect = h("select", { name: "limit" }, PAGE_SIZES.map((n) => h("option", { value: n, selected: n === limit }, n)));
  const filters = h(
    "form",
    { class: "filters", onsubmit: (e) => (e.preventDefault(), go({ since: sinceInput.value.trim(), date: dateInput.value, limit: limitSelect.value })) },
    h("label", {}, "After event id", sinceInput),
    h("label", {}, "Date (UTC)", dateInput),
    h("label", {}, "Page size", limitSelect),
    h("button", { type: "submit", class: "primary" }, "Show"),
    h("button", { type: "button", onclick: () => go({ limit }) }, "Reset"),
  );
  const tbody = h("tbody", {}, events.map(eventRow));
  const last = events.at(-1)?.id;
  // Ids are dense (<topic>-1, -2, …), so the page before starts after the id `limit` before this one's first.
  const sinceSequence = Number(/-(\d+)$/.exec(since)?.[1] ?? 0);
  const previous = Math.max(0, sinceSequence - limit);
  const nav = h(
    "div",
    { class: "toolbar" },
    h("button", { type: "button", disabled: !since, onclick: () => go({ date, limit }) }, "First page"),
    h("button", { type: "button", disabled: sinceSequence === 0, onclick: () => go({ since: previous > 0 ? `${topic}-${previous}` : "", date, limit }) }, "Previous page"),
    h("button", { type: "button", disabled: events.length < limit, onclick: () => go({ since: last, date, limit }) }, "Next page"),
  );
  const tailState = h("span", { class: "muted", "aria-live": "polite" });
  const tailButton = h("button", { type: "button", "aria-pressed": "false" }, "Live tail");
  let tail = null;
  tailButton.addEventListener("click", () => {
    if (tail) {
      tail.abort();
      tail = null;
      tailButton.setAttribute("aria-pressed", "false");
      tailButton.textContent = "Live tail";
      tailState.textContent = "";
      return;
    }
    tail = new AbortController();
    tailButton.setAttribute("aria-pressed", "true");
    tailButton.textContent = "Stop tail";
    tailState.textContent = "Waiting for new events…";
    liveTail(AbortSignal.any([signal, tail.signal]), path, tbody, tailState, last ?? (since || null), details.sequence);
  });
  render(
    h("h2", {}, "Events of ", h("span", { class: "mono" }, topic)),
    h("p", { class: "muted" }, `Head ${details.sequence}. `, h("a", { href: "#/topics" }, "All topics")),
    filters,
    h("div", { class: "toolbar" }, tailButton, tailState),
    h(
      "div",
      { class: "scroll" },
      h("table", { "aria-label": `Events of ${topic}` }, h("thead", {}, h("tr", {}, h("th", {}, "Id"), h("th", { class: "hide-narrow" }, "Time"), h("th", {}, "Type"), h("th", {}, "Payload"))), tbody),
    ),
    events.length === 0 ? h("p", { class: "muted" }, "No events here.") : null,
    nav,
  );
}

/** Long-polls for events after the newest shown (or the head when the page is older) and appends them as they come. */
async function liveTail(signal, path, tbody, state, shownLast, head) {
  const topicName = decodeURIComponent(path.split("/")[2]);
  let after = head > 0 ? `${topicName}-${head}` : shownLast;
  while (!signal.aborted) {
    const query = new URLSearchParams({ waitMs: "25000", limit: "500" });
    if (after) query.set("sinceEventId", after);
    try {
      const { events } = await api("GET", `${path}?${query}`, { signal });
      for (const event of events) {
        tbody.append(eventRow(event));
        after = event.id;
      }
      if (events.length > 0) state.textContent = `Live: last ${after}`;
    } catch (error) {
      if (signal.aborted) return;
      state.textContent = `Tail stopped: ${error.message}`;
      return;
    }
  }
}

// ---- Consumers ----

function confirmDelete(id) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, "Delete consumer?"),
      h("p", {}, "Consumer ", h("code", {}, id), " stops receiving events and its cursors are forgotten."),
      h(
        "form",
        { method: "dialog", class: "toolbar" },
        h("button", { value: "cancel", autofocus: true }, "Cancel"),
        h("button", { value: "delete", class: "danger" }, "Delete"),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "delete");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

function consumerRow(consumer, refresh) {
  const lag = Object.entries(consumer.progress ?? {}).map(([topic, p]) =>
    h("div", { class: "lag" }, h("span", { class: "mono" }, topic), `: ${p.lag} behind`, p.lag > 0 ? ` (oldest ${formatAge(p.lagSeconds)})` : "", h("span", { class: "muted" }, ` · cursor ${p.cursor}/${p.head}`)),
  );
  const act = async (label, work) => {
    try {
      await work();
      say(label);
      await refresh();
    } catch (error) {
      say(`Failed: ${error.message}`);
    }
  };
  return h(
    "tr",
    { "data-consumer": consumer.id },
    h("td", { class: "mono" }, consumer.id, h("div", { class: "muted" }, consumer.callback)),
    h("td", {}, h("span", { class: `badge ${consumer.status}` }, consumer.status)),
    h("td", {}, lag),
    h("td", {}, consumer.lastError ? h("span", { class: "error" }, consumer.lastError) : "—", consumer.attempts > 0 ? h("div", { class: "muted" }, `${consumer.attempts} failed in a row`) : null),
    h("td", { class: "hide-narrow" }, formatTime(consumer.nextAttemptAt)),
    h(
      "td",
      {},
      h("div", { class: "toolbar" },
        h("button", { type: "button", class: "primary", "aria-label": `Resume consumer ${consumer.id}`, onclick: () => act("Resumed", () => api("POST", `/consumers/${encodeURIComponent(consumer.id)}/resume`)) }, "Resume"),
        h("button", {
          type: "button",
          class: "danger",
          "aria-label": `Delete consumer ${consumer.id}`,
          onclick: async () => {
            if (await confirmDelete(consumer.id)) await act("Deleted", () => api("DELETE", `/consumers/${encodeURIComponent(consumer.id)}`));
          },
        }, "Delete"),
      ),
    ),
  );
}

async function consumersScreen(signal) {
  const tbody = h("tbody");
  const empty = h("p", { class: "muted" });
  const refresh = async () => {
    const { consumers } = await api("GET", "/consumers", { signal });
    tbody.replaceChildren(...consumers.map((consumer) => consumerRow(consumer, refresh)));
    empty.textContent = consumers.length === 0 ? "No consumers registered." : "";
  };
  await refresh();
  render(
    h("h2", {}, "Consumers"),
    h("p", { class: "muted" }, "Refreshed every 2 s. Lag: events not yet delivered, and how long the oldest of them has waited."),
    h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { "aria-label": "Consumers" },
        h("thead", {}, h("tr", {}, h("th", {}, "Consumer"), h("th", {}, "State"), h("th", {}, "Lag per topic"), h("th", {}, "Last error"), h("th", { class: "hide-narrow" }, "Next attempt"), h("th", {}, "Actions"))),
        tbody,
      ),
    ),
    empty,
  );
  poll(signal, refresh);
}

function poll(signal, refresh) {
  const timer = setInterval(() => refresh().catch(() => undefined), REFRESH_MS);
  signal.addEventListener("abort", () => clearInterval(timer));
}

// ---- Health and key metrics ----

/** Sums every sample of each metric name in a Prometheus text exposition. */
function sumSamples(text) {
  const sums = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    sums.set(match[1], (sums.get(match[1]) ?? 0) + Number(match[3]));
  }
  return sums;
}

const KEY_METRICS = [
  ["event_store_events_appended_total", "Events appended", (v) => v.toLocaleString()],
  ["event_store_batches_appended_total", "Batches appended", (v) => v.toLocaleString()],
  ["event_store_http_requests_total", "HTTP requests", (v) => v.toLocaleString()],
  ["event_store_topics", "Topics", String],
  ["event_store_consumer_lag_events", "Undelivered events (all consumers)", (v) => v.toLocaleString()],
  ["event_store_idempotency_keys", "Idempotency keys held", (v) => v.toLocaleString()],
  ["process_resident_memory_bytes", "Resident memory", (v) => `${(v / 1048576).toFixed(0)} MiB`],
  ["process_cpu_seconds_total", "CPU time", (v) => `${v.toFixed(1)} s`],
];

async function healthScreen(signal) {
  const box = h("div");
  const refresh = async () => {
    const [health, metricsText] = await Promise.all([api("GET", "/health", { signal }), api("GET", "/metrics", { signal, text: true }).catch(() => null)]);
    const sums = metricsText === null ? null : sumSamples(metricsText);
    box.replaceChildren(
      h("div", { class: "card" }, h("strong", {}, `Status: ${health.status}`), ` · ${health.consumers} consumers · dispatchers running for: ${health.runningDispatchers.join(", ") || "none"}`),
      sums === null
        ? h("p", { class: "muted" }, "Metrics are off on this server (METRICS_ENABLED=false).")
        : h("div", { class: "grid", "aria-label": "Key metrics" }, KEY_METRICS.filter(([name]) => sums.has(name)).map(([name, label, format]) => h("div", { class: "metric" }, h("div", { class: "value" }, format(sums.get(name))), h("div", { class: "label" }, label)))),
    );
  };
  await refresh();
  render(h("h2", {}, "Health & metrics"), box, h("p", { class: "muted" }, "Refreshed every 2 s. Everything Prometheus scrapes is at ", h("a", { href: "/metrics" }, "/metrics"), "."));
  poll(signal, refresh);
}

// ---- Routing ----

async function route() {
  screen.abort();
  statusBox.hidden = true;
  screen = new AbortController();
  const signal = screen.signal;
  const [path, search = ""] = location.hash.replace(/^#/, "").split("?");
  const parts = (path || "/topics").split("/").filter(Boolean);
  const section = parts[0] ?? "topics";
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  signOut.hidden = !sessionStorage.getItem(TOKEN_KEY);
  try {
    if (section === "topics" && parts[1]) await eventsScreen(signal, decodeURIComponent(parts[1]), new URLSearchParams(search));
    else if (section === "consumers") await consumersScreen(signal);
    else if (section === "health") await healthScreen(signal);
    else await topicsScreen(signal);
    document.title = `${section[0].toUpperCase()}${section.slice(1)} · Event Store admin`;
  } catch (error) {
    failure(error);
  }
}

window.addEventListener("hashchange", route);
route();
