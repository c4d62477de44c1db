// panoptic serve: draws the page the path names from /api/…, refreshes it
// every `refresh_seconds`, and keeps the filters (and any token) in the URL.
// Data is only ever put in the page as text (textContent, text nodes,
// attributes), never parsed as HTML.
"use strict";

(function () {
  const FILTERS = ["since", "env", "provider", "service", "user", "tag"];
  const PAGES = ["overview", "resources", "users", "events", "budgets", "reconciliation"];
  const SVG = "http://www.w3.org/2000/svg";
  const state = { meta: null, timer: null, loads: 0, rows: null, drawn: "" };

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    setAttrs(node, attrs);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined) continue;
      if (key === "text") node.textContent = value;
      else if (key === "class") node.setAttribute("class", value);
      else node.setAttribute(key, String(value));
    }
  }

  function page() {
    const name = location.pathname.replace(/^\/+|\/+$/g, "");
    return PAGES.includes(name) ? name : "overview";
  }

  function params() {
    return new URLSearchParams(location.search);
  }

  // A URL of this app with the current filters (and token), changed by `changes`.
  function href(path, changes) {
    const query = params();
    query.delete("page");
    for (const [key, value] of Object.entries(changes || {})) {
      if (value === null || value === undefined || value === "") query.delete(key);
      else query.set(key, value);
    }
    const text = query.toString();
    return path + (text ? "?" + text : "");
  }

  // Amounts arrive as exact decimal strings with their currency; they are
  // shown exactly, "$" before USD and the code after any other, so that no
  // amount reads as dollars that is not.
  function money(text, currency) {
    if (text === null || text === undefined) return "—";
    let digits = String(text);
    const negative = digits.startsWith("-");
    if (negative) digits = digits.slice(1);
    let [whole, fraction = ""] = digits.split(".");
    fraction = fraction.padEnd(2, "0");
    whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const number = whole + "." + fraction;
    if (currency === "USD") return (negative ? "-" : "") + "$" + number;
    return (negative ? "-" : "") + number + " " + (currency || "(no currency)");
  }

  const plural = (n, one, many) => count(n) + " " + (n === 1 ? one : many);

  // What a total leaves out, said beside it.
  function unpricedNote(n) {
    return n ? plural(n, "unpriced call", "unpriced calls") + " not counted" : "";
  }

  // A table cell for an amount: "unpriced" when no call of the row had a
  // price, never a bare zero.
  function amountCell(amount, currency, calls, unpriced) {
    const none = calls > 0 && unpriced === calls;
    return el("td", {
      class: "n",
      "data-amount": amount,
      "data-currency": currency,
      title: unpriced ? unpricedNote(unpriced) : null,
      text: none ? "unpriced" : money(amount, currency),
    });
  }

  function unpricedCell(unpriced) {
    return el("td", { class: "n" + (unpriced ? " unpriced" : ""), text: count(unpriced) });
  }

  const count = (n) => Number(n).toLocaleString("en-US");
  const duration = (ms) => (ms === null || ms === undefined ? "—" : count(ms) + " ms");

  // The API reads the page's own query: filters, page, token.
  async function api(path) {
    const response = await fetch(path + location.search, { headers: { Accept: "application/json" } });
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      const reason = body && body.error ? body.error : response.status + " " + response.statusText;
      throw new Error(reason);
    }
    return body;
  }

  // ---- filters -----------------------------------------------------------

  function syncForm() {
    const query = params();
    const form = $("filters");
    for (const name of FILTERS) {
      const field = form.elements[name];
      const value = query.get(name) || (name === "since" ? "7d" : "");
      if (field.tagName === "SELECT") ensureOption(field, value, value);
      field.value = value;
    }
    const resource = query.get("resource");
    $("resource-filter").hidden = !resource;
    $("resource-name").textContent = resource || "";
  }

  function ensureOption(select, value, label) {
    if (![...select.options].some((o) => o.value === value)) {
      select.append(el("option", { value: value, text: label }));
    }
  }

  function fillOptions(options) {
    const form = $("filters");
    for (const name of ["env", "provider", "service", "user"]) {
      const select = form.elements[name];
      const current = params().get(name) || "";
      const wanted = ["", ...options[name]];
      if (current && !wanted.includes(current)) wanted.push(current);
      const have = [...select.options].map((o) => o.value);
      if (have.join("\u0000") === wanted.join("\u0000")) continue;
      select.replaceChildren(...wanted.map((v) => el("option", { value: v, text: v || "All" })));
      select.value = current;
    }
  }

  function setFilter(changes) {
    history.pushState(null, "", href(location.pathname, changes));
    syncForm();
    refresh();
  }

  function wireFilters() {
    const form = $("filters");
    form.addEventListener("submit", (event) => event.preventDefault());
    form.addEventListener("change", (event) => {
      const field = event.target;
      if (field.name) setFilter({ [field.name]: field.value });
    });
    $("clear").addEventListener("click", () => {
      const changes = { resource: null, until: null };
      for (const name of FILTERS) changes[name] = null;
      setFilter(changes);
    });
    window.addEventListener("popstate", () => {
      syncForm();
      refresh();
    });
  }

  function markNav() {
    for (const link of $("nav").querySelectorAll("a")) {
      const name = link.dataset.page;
      link.setAttribute("href", href("/" + name, { sort: null, dir: null }));
      link.classList.toggle("current", name === page());
    }
    $("brand").setAttribute("href", href("/overview", { sort: null, dir: null }));
  }

  // ---- status ------------------------------------------------------------

  function showSource(source) {
    const banner = $("source");
    if (source.kind === "spool") {
      banner.hidden = false;
      banner.textContent =
        "Reading the local spool (" + source.description + ")" +
        (source.reason ? ": " + source.reason : "") +
        ". Only events not yet delivered to MongoDB are shown; start MongoDB and restart `panoptic serve` to see everything.";
    } else {
      banner.hidden = true;
    }
  }

  function showUpdated(ok, message) {
    const every = state.meta ? state.meta.refresh_seconds : "?";
    const now = new Date();
    const updated = $("updated");
    $("live").className = "dot " + (ok ? "ok" : "bad");
    if (ok) {
      state.loads += 1;
      updated.dataset.at = now.toISOString();
      updated.dataset.loads = String(state.loads);
      updated.textContent =
        "Live · updated " + now.toLocaleTimeString("en-GB") + " · refreshes every " + every + " s";
      $("notice").hidden = true;
      document.body.dataset.state = "ready";
    } else {
      updated.textContent = "Update failed at " + now.toLocaleTimeString("en-GB") + " · retrying every " + every + " s";
      const notice = $("notice");
      notice.hidden = false;
      notice.textContent =
        message + " — the numbers below may be stale. Check the filters, or that `panoptic serve` and MongoDB are running.";
      document.body.dataset.state = "error";
    }
  }

  // ---- pages -------------------------------------------------------------

  function heading(title, csv) {
    const bar = el("div", { class: "toolbar" }, el("h1", { text: title }));
    if (csv) bar.append(el("a", { id: "csv", href: href(csv), download: "", text: "Download CSV" }));
    return bar;
  }

  function empty(what) {
    return el(
      "p",
      { class: "empty", id: "empty" },
      "No " + what + " for these filters in this period. Widen the period or clear the filters. " +
        "Events appear here as soon as #[billable] code runs with MONGODB_URI pointing at the same server."
    );
  }

  function card(id, label, value, note, extra) {
    const node = el(
      "div",
      { class: "card" + (extra && extra.warn ? " warn" : "") },
      el("div", { class: "label", text: label }),
      el("div", { class: "value", id: id, text: value }),
      note ? el("div", { class: "note", id: id + "-note", text: note }) : null
    );
    if (extra && extra.amount !== undefined) node.querySelector(".value").dataset.amount = extra.amount;
    return node;
  }

  // A card of amounts, one line per currency (never summed), each with the
  // unpriced calls it leaves out beside it.
  function amountsCard(id, label, lines, note) {
    const node = el("div", { class: "card", id: id }, el("div", { class: "label", text: label }));
    if (!lines.length) node.append(el("div", { class: "value", text: "—" }));
    for (const line of lines) {
      const value = el("div", {
        class: "value",
        id: id + "-" + line.currency,
        "data-amount": line.amount,
        "data-currency": line.currency,
        text: money(line.amount, line.currency),
      });
      node.append(value);
      const left = unpricedNote(line.unpriced);
      if (left) node.append(el("div", { class: "note unpriced", id: id + "-" + line.currency + "-unpriced", text: left }));
    }
    if (note) node.append(el("div", { class: "note", id: id + "-note", text: note }));
    return node;
  }

  function drawOverview(data) {
    const main = [heading("Overview", "/api/overview.csv")];
    const totals = data.totals;
    const adjusted = totals.filter((t) => Number(t.adjusted) !== 0);
    main.push(
      el(
        "div",
        { class: "cards" },
        amountsCard("total", "Total for the period", totals, "list prices; each currency apart"),
        amountsCard(
          "daily",
          "Daily average",
          totals.map((t) => ({ currency: t.currency, amount: t.daily_average, unpriced: t.unpriced })),
          "over " + data.period_days + " days"
        ),
        amountsCard(
          "forecast",
          "Forecast, next " + data.forecast.days + " days",
          totals.map((t) => ({ currency: t.currency, amount: t.forecast, unpriced: t.unpriced })),
          data.forecast.method
        ),
        card("calls", "Calls", count(data.calls), null),
        card("errors", "Errors", count(data.errors), data.calls ? ((100 * data.errors) / data.calls).toFixed(1) + " % of calls" : null),
        card(
          "unpriced",
          "Unpriced calls",
          count(data.unpriced),
          data.unpriced ? "no price known: not counted in any total (see Events, metadata.unpriced)" : "every call priced",
          { warn: data.unpriced > 0 }
        ),
        adjusted.length
          ? amountsCard(
              "adjusted",
              "Adjustments from the bill",
              adjusted.map((t) => ({ currency: t.currency, amount: t.adjusted, unpriced: 0 })),
              "allocated by `panoptic reconcile`; not in the total"
            )
          : null
      )
    );
    if (!data.calls) {
      main.push(empty("events"));
      $("main").replaceChildren(...main);
      return;
    }
    const stack = el(
      "select",
      { id: "stack", name: "stack" },
      el("option", { value: "service", text: "service" }),
      el("option", { value: "provider", text: "provider" })
    );
    stack.value = data.stack;
    stack.addEventListener("change", () => setFilter({ stack: stack.value }));
    const names = [...new Set(data.groups.map((g) => g.name))];
    const colors = new Map(names.map((name, i) => [name, "c" + (i % 10)]));
    const panel = el(
      "section",
      { class: "panel" },
      el("div", { class: "toolbar" }, el("h2", { text: "Cost per day" }), el("label", {}, "Stacked by ", stack))
    );
    // One chart per currency: bars of two currencies never stack.
    for (const total of totals) {
      if (totals.length > 1) panel.append(el("h3", { text: total.currency }));
      panel.append(chart(data, total, colors), legend(data, total, colors));
    }
    main.push(panel);
    const label = data.stack === "provider" ? "Provider" : "Service";
    const rows = data.groups.map((g) =>
      el(
        "tr",
        { "data-name": g.name, "data-currency": g.currency },
        el("td", {}, el("span", { class: "swatch " + colors.get(g.name) }), el("a", { href: href("/events", { [data.stack]: g.name }), text: g.name })),
        amountCell(g.amount, g.currency, g.calls, g.unpriced),
        unpricedCell(g.unpriced),
        el("td", { class: "n", text: count(g.calls) }),
        el("td", { class: "n", text: count(g.errors) })
      )
    );
    main.push(el("h2", { text: "By " + data.stack }));
    main.push(table("groups", [label, "Cost", "Unpriced", "Calls", "Errors"], rows, null, [1, 2, 3, 4]));
    $("main").replaceChildren(...main);
  }

  // Stacked bars per day in one currency, one colour per group, the daily
  // average as a dashed line (the rate the forecast extends), and above a
  // day the calls it leaves out as unpriced.
  function chart(data, total, colors) {
    const currency = total.currency;
    const width = 1000;
    const height = 220;
    const left = 70;
    const bottom = 24;
    const top = 16;
    const totals = new Map(data.days.map((d) => [d, 0]));
    const unpriced = new Map(data.days.map((d) => [d, 0]));
    const byDay = new Map(data.days.map((d) => [d, []]));
    for (const cell of data.cells) {
      if (cell.currency !== currency || !byDay.has(cell.day)) continue;
      byDay.get(cell.day).push(cell);
      totals.set(cell.day, totals.get(cell.day) + Number(cell.amount));
      unpriced.set(cell.day, unpriced.get(cell.day) + cell.unpriced);
    }
    const average = Number(total.daily_average);
    const max = niceCeiling(Math.max(average, ...totals.values()));
    const plot = height - bottom - top;
    const y = (v) => top + plot - (v / max) * plot;
    const node = svg("svg", {
      class: "chart",
      id: "chart-" + currency,
      "data-currency": currency,
      viewBox: "0 0 " + width + " " + height,
      role: "img",
      "aria-label": "Cost per day in " + currency,
    });
    for (let i = 0; i <= 4; i += 1) {
      const value = (max * i) / 4;
      node.append(svg("line", { class: "grid", x1: left, x2: width, y1: y(value), y2: y(value) }));
      node.append(svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, money(value.toFixed(max < 0.1 ? 4 : 2), currency)));
    }
    const slot = (width - left) / Math.max(1, data.days.length);
    const barWidth = Math.max(2, slot * 0.7);
    const labelEvery = Math.ceil(data.days.length / 12);
    const order = new Map(data.groups.map((g, i) => [g.name, i]));
    data.days.forEach((day, i) => {
      const x = left + i * slot + (slot - barWidth) / 2;
      let base = 0;
      const cells = byDay.get(day).sort((a, b) => order.get(a.group) - order.get(b.group));
      for (const cell of cells) {
        const value = Number(cell.amount);
        if (value <= 0) continue;
        const rect = svg("rect", {
          class: "bar " + (colors.get(cell.group) || "c9"),
          x: x,
          width: barWidth,
          y: y(base + value),
          height: Math.max(0.5, y(base) - y(base + value)),
          "data-day": day,
          "data-group": cell.group,
          "data-amount": cell.amount,
          "data-currency": currency,
        });
        const leftOut = cell.unpriced ? " + " + unpricedNote(cell.unpriced) : "";
        rect.append(svg("title", {}, day + " · " + cell.group + " · " + money(cell.amount, currency) + leftOut));
        node.append(rect);
        base += value;
      }
      const missing = unpriced.get(day);
      if (missing) {
        const mark = svg(
          "text",
          { class: "unpriced", x: x + barWidth / 2, y: y(base) - 3, "text-anchor": "middle", "data-day": day, "data-unpriced": missing },
          "+" + count(missing) + " unpriced"
        );
        mark.append(svg("title", {}, day + " · " + unpricedNote(missing)));
        node.append(mark);
      }
      if (i % labelEvery === 0) {
        node.append(svg("text", { x: x + barWidth / 2, y: height - 6, "text-anchor": "middle" }, day.slice(5)));
      }
    });
    node.append(svg("line", { class: "forecast", x1: left, x2: width, y1: y(average), y2: y(average) }));
    return node;
  }

  // The smallest "round" number at or above `value` whose quarters are
  // round too: the axis has four steps.
  function niceCeiling(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 1.2, 1.6, 2, 3, 4, 5, 6, 8, 10]) {
      if (step * power >= value) return step * power;
    }
    return 10 * power;
  }

  function legend(data, total, colors) {
    const node = el("div", { class: "legend" });
    for (const group of data.groups) {
      if (group.currency !== total.currency) continue;
      node.append(el("span", {}, el("span", { class: "swatch " + colors.get(group.name) }), group.name));
    }
    const left = total.unpriced ? "; " + unpricedNote(total.unpriced) : "";
    node.append(
      el(
        "span",
        {},
        el("span", { class: "forecast-key" }),
        "daily average " + money(total.daily_average, total.currency) + " (the forecast's rate)" + left
      )
    );
    return node;
  }

  // `numeric`: indexes of right-aligned columns (sortable tables say it per column).
  function table(id, headers, rows, sortable, numericColumns) {
    const head = el("tr");
    headers.forEach((header, i) => {
      const numeric = sortable ? sortable[i].numeric : (numericColumns || []).includes(i);
      const th = el("th", { class: numeric ? "n" : "", scope: "col" });
      if (sortable) {
        const { key } = sortable[i];
        const current = params().get("sort") || "amount";
        const dir = params().get("dir") || "desc";
        if (key === current) th.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
        const button = el("button", { type: "button", "data-sort": key, text: header });
        button.addEventListener("click", () => {
          const next = key === current && dir === "desc" ? "asc" : key === current ? "desc" : numeric ? "desc" : "asc";
          history.replaceState(null, "", href(location.pathname, { sort: key, dir: next }));
          if (state.rows) drawResources(state.rows);
        });
        th.append(button);
      } else {
        th.textContent = header;
      }
      head.append(th);
    });
    return el("table", { id: id }, el("thead", {}, head), el("tbody", {}, ...rows));
  }

  const RESOURCE_COLUMNS = [
    { key: "resource", label: "Resource", numeric: false },
    { key: "service", label: "Service", numeric: false },
    { key: "provider", label: "Provider", numeric: false },
    { key: "amount", label: "Cost", numeric: true },
    { key: "unpriced", label: "Unpriced", numeric: true },
    { key: "calls", label: "Calls", numeric: true },
    { key: "errors", label: "Errors", numeric: true },
    { key: "p50_ms", label: "p50", numeric: true },
    { key: "p95_ms", label: "p95", numeric: true },
  ];

  function drawResources(data) {
    state.rows = data;
    const main = [heading("Resources", "/api/resources.csv")];
    if (!data.rows.length) {
      main.push(empty("functions"));
      $("main").replaceChildren(...main);
      return;
    }
    const key = params().get("sort") || "amount";
    const column = RESOURCE_COLUMNS.find((c) => c.key === key) || RESOURCE_COLUMNS[3];
    const sign = params().get("dir") === "asc" ? 1 : -1;
    const value = (row) => (column.numeric ? (row[column.key] === null ? -1 : Number(row[column.key])) : String(row[column.key]));
    // Amounts compare only within a currency: rows sort by currency first.
    const sorted = [...data.rows].sort((a, b) => {
      if (column.key === "amount" && a.currency !== b.currency) return a.currency < b.currency ? -1 : 1;
      const [x, y] = [value(a), value(b)];
      return sign * (x < y ? -1 : x > y ? 1 : 0);
    });
    const rows = sorted.map((r) =>
      el(
        "tr",
        {},
        el("td", {}, el("a", { href: href("/events", { resource: r.resource, service: r.service, provider: r.provider }), text: r.resource })),
        el("td", { text: r.service }),
        el("td", { text: r.provider }),
        amountCell(r.amount, r.currency, r.calls, r.unpriced),
        unpricedCell(r.unpriced),
        el("td", { class: "n", text: count(r.calls) }),
        el("td", { class: "n", text: count(r.errors) }),
        el("td", { class: "n", text: duration(r.p50_ms) }),
        el("td", { class: "n", text: duration(r.p95_ms) })
      )
    );
    main.push(
      el("p", {
        class: "muted",
        text: "Every function that recorded a cost, one row per currency. Unpriced calls have no amount and are not in the cost. Click a column to sort, a resource for its events.",
      })
    );
    main.push(table("resources", RESOURCE_COLUMNS.map((c) => c.label), rows, RESOURCE_COLUMNS));
    $("main").replaceChildren(...main);
  }

  function drawUsers(data) {
    const main = [heading("Users", "/api/users.csv")];
    if (!data.rows.length) {
      main.push(empty("users"));
      $("main").replaceChildren(...main);
      return;
    }
    const rows = data.rows.map((r) =>
      el(
        "tr",
        {},
        el("td", {}, el("a", { href: href("/events", { user: r.user }), text: r.user })),
        amountCell(r.amount, r.currency, r.calls, r.unpriced),
        unpricedCell(r.unpriced),
        el("td", { class: "n", text: count(r.calls) }),
        el("td", { class: "n", text: count(r.errors) }),
        el("td", { class: "n", text: duration(r.p95_ms) })
      )
    );
    main.push(table("users", ["User", "Cost", "Unpriced", "Calls", "Errors", "p95"], rows, null, [1, 2, 3, 4, 5]));
    $("main").replaceChildren(...main);
  }

  function drawEvents(data) {
    const main = [heading("Events", "/api/events.csv")];
    if (!data.events.length) {
      main.push(empty("events"));
      $("main").replaceChildren(...main);
      return;
    }
    const rows = data.events.map((e) =>
      el(
        "tr",
        { "data-id": e.id },
        el("td", { text: e.ts.replace("T", " ").replace("Z", "") }),
        el("td", { text: e.env }),
        el("td", { text: e.user }),
        el("td", { text: e.provider + " / " + e.service }),
        el("td", { text: e.resource }),
        el("td", { text: e.kind }),
        el("td", { text: e.outcome + (e.error ? ": " + e.error : "") }),
        el("td", {
          class: "n",
          "data-amount": e.amount === null ? "" : e.amount,
          "data-currency": e.currency,
          text: e.amount === null ? "unpriced" : money(e.amount, e.currency),
        }),
        el("td", { text: e.unpriced || "" }),
        el("td", { class: "n", text: duration(e.duration_ms) })
      )
    );
    main.push(
      table("events", ["Time (UTC)", "Env", "User", "Service", "Resource", "Kind", "Outcome", "Cost", "Why unpriced", "Duration"], rows, null, [7, 9])
    );
    const pager = el("div", { class: "pager" });
    if (data.page > 1) pager.append(el("a", { href: href("/events", { page: data.page - 1 }), text: "← Newer" }));
    pager.append(el("span", { class: "muted", text: "Page " + data.page + " · " + data.page_size + " per page" }));
    if (data.more) pager.append(el("a", { id: "next", href: href("/events", { page: data.page + 1 }), text: "Older →" }));
    main.push(pager);
    $("main").replaceChildren(...main);
  }

  function command(text, run) {
    return el("p", {}, text + " ", el("code", { text: run }));
  }

  function drawBudgets(data) {
    const main = [heading("Budgets", data.available ? "/api/budgets.csv" : null)];
    if (!data.available) {
      main.push(el("div", { class: "empty", id: "empty" }, el("p", { text: data.text })));
      $("main").replaceChildren(...main);
      return;
    }
    if (!data.budgets.length) {
      main.push(
        el(
          "div",
          { class: "empty", id: "empty" },
          command("No budget is set. Set one with", data.run),
          el("p", {}, "then ", el("code", { text: "panoptic budgets list" }), " or this page shows its spend, forecast and the day it runs out.")
        )
      );
      $("main").replaceChildren(...main);
      return;
    }
    const amount = (text, currency) => el("td", { class: "n", "data-amount": text, "data-currency": currency, text: money(text, currency) });
    const rows = data.budgets.map((b) =>
      el(
        "tr",
        { "data-name": b.name },
        el("td", { text: b.name }),
        el("td", { text: b.mode }),
        el("td", { text: b.period + " " + b.period_name }),
        el("td", { text: b.time_zone }),
        amount(b.spent, b.currency),
        el("td", { class: "n" + (b.unpriced ? " unpriced" : ""), title: unpricedNote(b.unpriced) || null, text: count(b.unpriced) }),
        amount(b.reserved, b.currency),
        amount(b.limit, b.currency),
        amount(b.forecast, b.currency),
        el("td", { class: "n", text: b.runs_out || "—" }),
        el("td", { text: b.scope })
      )
    );
    main.push(
      el("p", {
        class: "muted",
        text:
          "Each budget in its current period. Unpriced: calls in its scope this period with no amount, left out of the spend " +
          "(a budgeted call that reserved is counted at its estimate instead). Forecast: the spend so far plus the mean of the " +
          "complete days for each day left; runs out: the first day that reaches the limit at that rate.",
      })
    );
    // What a budget's spent leaves out (spend in a currency it has no
    // rate for) or converted, above the table, one line per note.
    const notes = data.budgets.flatMap((b) => (b.notes || []).map((note) => b.name + ": " + note));
    if (notes.length) {
      main.push(el("ul", { id: "budget-notes", class: "notes" }, ...notes.map((note) => el("li", { text: note }))));
    }
    main.push(
      table(
        "budgets",
        ["Budget", "Mode", "Period", "Time zone", "Spent", "Unpriced", "Reserved", "Limit", "Forecast (end of period)", "Runs out", "Scope"],
        rows,
        null,
        [4, 5, 6, 7, 8, 9]
      )
    );
    $("main").replaceChildren(...main);
  }

  function drawReconciliation(data) {
    const main = [heading("Reconciliation", null)];
    const totals = data.totals;
    const line = (key) => (t) => ({ currency: t.currency, amount: t[key], unpriced: key === "estimate" ? t.unpriced : 0 });
    const ratios = totals.filter((t) => t.reconciled);
    main.push(
      el(
        "div",
        { class: "cards" },
        amountsCard("estimate", "Estimated by panoptic", totals.map(line("estimate")), "list prices; each currency apart"),
        amountsCard("adjusted", "Adjustments from the bill", totals.map(line("adjusted")), "written by `panoptic reconcile --apply`"),
        amountsCard("billed", "Estimate + adjustments", totals.map(line("billed")), "the period after reconciliation"),
        card(
          "ratio",
          "Billed ÷ estimate",
          ratios.length ? ratios.map((t) => (t.ratio === null ? "—" : t.ratio) + (totals.length > 1 ? " " + t.currency : "")).join(" · ") : "—",
          ratios.length
            ? ratios
                .map((t) => money(t.reconciled_billed, t.currency) + " billed for " + money(t.reconciled_estimate, t.currency) + " estimated")
                .join("; ") + ", reconciled days only"
            : "no reconciled day"
        )
      )
    );
    if (!data.reconciled) {
      main.push(
        el(
          "div",
          { class: "empty", id: "empty" },
          el("p", { text: "No adjustment from a provider's bill in this period, so there is nothing to compare yet." }),
          command("Fetch the bill and write the adjustments with", data.run)
        )
      );
    }
    if (data.rows.length) {
      const amount = (text, currency) =>
        el("td", { class: "n", "data-amount": text === null ? "" : text, "data-currency": currency, text: text === null ? "—" : money(text, currency) });
      const rows = data.rows.map((r) =>
        el(
          "tr",
          { "data-day": r.day, "data-service": r.service, "data-currency": r.currency },
          el("td", { text: r.day }),
          el("td", { text: r.service }),
          amountCell(r.estimate, r.currency, r.calls, r.unpriced),
          unpricedCell(r.unpriced),
          el("td", {
            class: "n",
            "data-amount": r.adjusted,
            "data-currency": r.currency,
            text: r.reconciled ? money(r.adjusted, r.currency) : "not reconciled",
          }),
          amount(r.billed, r.currency),
          el("td", { class: "n", text: r.ratio === null ? "—" : r.ratio })
        )
      );
      main.push(el("h2", { text: "By day and service" }));
      main.push(
        table("reconciliation", ["Day (UTC)", "Service", "Estimate", "Unpriced", "Adjusted", "Billed", "Billed ÷ estimate"], rows, null, [2, 3, 4, 5, 6])
      );
    }
    $("main").replaceChildren(...main);
  }

  // ---- refresh loop ------------------------------------------------------

  async function refresh() {
    clearTimeout(state.timer);
    const name = page();
    markNav();
    try {
      if (!state.meta) state.meta = await api("/api/meta");
      $("filters").hidden = name === "budgets";
      let data;
      if (name === "budgets") {
        data = await api("/api/budgets");
      } else {
        let options;
        [data, options] = await Promise.all([api("/api/" + name), api("/api/options")]);
        fillOptions(options);
      }
      showSource(data.source);
      // Redrawn only when something changed, so a refresh never moves
      // what the reader is pointing at.
      const seen = location.search + JSON.stringify(data);
      if (seen !== state.drawn) {
        state.drawn = seen;
        if (name === "overview") drawOverview(data);
        else if (name === "resources") drawResources(data);
        else if (name === "users") drawUsers(data);
        else if (name === "budgets") drawBudgets(data);
        else if (name === "reconciliation") drawReconciliation(data);
        else drawEvents(data);
      }
      showUpdated(true);
    } catch (error) {
      showUpdated(false, error.message);
    } finally {
      const seconds = state.meta ? state.meta.refresh_seconds : 5;
      state.timer = setTimeout(() => refresh(), seconds * 1000);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    wireFilters();
    syncForm();
    refresh();
  });
})();
