"use strict";
// qmsum-fast view: renders the cards, the difference plot and the controls from
// the JSON in #view-data. Everything the page shows was computed in Python
// (qmsum_fast/view.py); this script only filters, sorts and draws. The page's
// state lives in the URL fragment (#domain=academic&sort=diff&ex=<id>), so any
// view, and each example, has a link.
(function () {
  const DATA = JSON.parse(document.getElementById("view-data").textContent);
  const RUNS = DATA.runs;
  const EXAMPLES = DATA.examples;
  const KEYS = DATA.keys;
  const KEY = Object.fromEntries(KEYS.map((k) => [k.k, k]));
  const BATCH = 30; // cards rendered at a time: the page stays fast with thousands
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"];
  const $ = (id) => document.getElementById(id);
  const cards = $("cards");

  const DEFAULTS = {
    q: "", domain: "", type: "", only: "", sort: "data", dir: "desc",
    a: 0, b: Math.min(1, RUNS.length - 1), key: KEYS[0].k,
    show: RUNS.map((_, i) => i).join(","), ex: "", hl: "overlap,frag", fm: "5",
  };
  let state = Object.assign({}, DEFAULTS);
  let order = []; // indices into EXAMPLES, as shown
  let rendered = 0; // cards of `order` in the DOM
  let current = -1; // position in `order` of the focused card
  let haystacks = null; // lowercased searchable text per example, built at the first search

  // --- helpers ---------------------------------------------------------------------

  function esc(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function shownRuns() {
    return state.show.split(",").filter((s) => s !== "").map(Number);
  }

  function format(key, value) {
    if (value === null || value === undefined) return "–";
    const spec = KEY[key];
    return (value * spec.x).toFixed(spec.d);
  }

  function spanCount(spans) {
    return spans.reduce((total, [start, end]) => total + end - start + 1, 0);
  }

  // Token spans from the packed form: gap before each token, then its length.
  function unpack(packed) {
    const spans = [];
    let position = 0;
    for (let i = 0; i < packed.length; i += 2) {
      const start = position + packed[i];
      position = start + packed[i + 1];
      spans.push([start, position]);
    }
    return spans;
  }

  // The text with ROUGE-counted tokens (.h) and tokens of long copied fragments (.f) marked.
  function highlight(text, packed, hits, fragments) {
    const spans = unpack(packed);
    const fragmentOf = new Int32Array(spans.length);
    const minimum = Number(state.fm) || 1;
    (fragments || []).forEach(([start, length], index) => {
      if (length < minimum) return;
      for (let k = start; k < start + length && k < spans.length; k++) fragmentOf[k] = index + 1;
    });
    let out = "";
    let position = 0;
    spans.forEach(([start, end], k) => {
      const gap = esc(text.slice(position, start));
      const joined = k > 0 && fragmentOf[k] && fragmentOf[k] === fragmentOf[k - 1];
      out += joined && gap ? `<span class="f">${gap}</span>` : gap;
      const classes = (hits && hits[k] === "1" ? "h" : "") + (fragmentOf[k] ? " f" : "");
      const word = esc(text.slice(start, end));
      out += classes ? `<span class="${classes.trim()}">${word}</span>` : word;
      position = end;
    });
    return out + esc(text.slice(position));
  }

  // --- state in the URL fragment ----------------------------------------------------------

  function readHash() {
    const params = new URLSearchParams(location.hash.slice(1));
    const next = Object.assign({}, DEFAULTS);
    for (const name of Object.keys(DEFAULTS)) if (params.has(name)) next[name] = params.get(name);
    next.a = validRun(next.a, DEFAULTS.a);
    next.b = validRun(next.b, DEFAULTS.b);
    if (!KEY[next.key]) next.key = DEFAULTS.key;
    if (!["data", "a", "b", "diff"].includes(next.sort)) next.sort = "data";
    if (!["asc", "desc"].includes(next.dir)) next.dir = "desc";
    next.show = next.show.split(",").filter((s) => validRun(s, -1) >= 0).join(",");
    state = next;
  }

  function validRun(value, fallback) {
    const n = Number(value);
    return Number.isInteger(n) && n >= 0 && n < RUNS.length && String(value).trim() !== "" ? n : fallback;
  }

  function writeHash() {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(state)) if (String(value) !== String(DEFAULTS[name])) params.set(name, value);
    const hash = params.toString();
    try {
      history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    } catch (error) {
      // Some browsers refuse history changes on file: pages; the view still works.
    }
  }

  // --- filtering and sorting ----------------------------------------------------------------

  function haystack(i) {
    if (!haystacks) {
      haystacks = EXAMPLES.map((e) =>
        [e.id, e.m, e.k, ...e.r, ...e.p.filter(Boolean).map((p) => p.t)].join("\n").toLowerCase());
    }
    return haystacks[i];
  }

  function matches(i) {
    const e = EXAMPLES[i];
    if (state.domain && e.d !== state.domain) return false;
    if (state.type && e.q !== state.type) return false;
    if (state.only) {
      const missing = shownRuns().some((r) => !e.p[r]);
      if ((state.only === "missing") !== missing) return false;
    }
    return !state.q || haystack(i).includes(state.q.toLowerCase());
  }

  function scoreOf(i, run) {
    const p = EXAMPLES[i].p[run];
    const value = p ? p.s[state.key] : null;
    return value === undefined ? null : value;
  }

  function sortValue(i) {
    if (state.sort === "a") return scoreOf(i, state.a);
    if (state.sort === "b") return scoreOf(i, state.b);
    const a = scoreOf(i, state.a);
    const b = scoreOf(i, state.b);
    return a === null || b === null ? null : a - b;
  }

  function computeOrder() {
    order = EXAMPLES.map((_, i) => i).filter(matches);
    if (state.sort === "data") return;
    const values = new Map(order.map((i) => [i, sortValue(i)]));
    const sign = state.dir === "asc" ? 1 : -1;
    order.sort((x, y) => {
      const a = values.get(x);
      const b = values.get(y);
      if (a === null || b === null) return a === b ? x - y : a === null ? 1 : -1; // missing last
      return sign * (a - b) || x - y;
    });
  }

  // --- cards -------------------------------------------------------------------------------

  function cardHtml(i) {
    const e = EXAMPLES[i];
    const focus = e.p[state.a];
    const references = e.r.map((text, j) => {
      const hits = focus && !focus.rr && focus.rb === j ? focus.rh : null;
      return `<div class="text">${highlight(text, e.ro[j], hits, null)}</div>`;
    }).join("");
    const recall = focus && !focus.rr ? ` (words ${esc(RUNS[state.a].label)} recalls marked)` : "";
    return `<article class="card" id="card-${i}" data-i="${i}" data-id="${esc(e.id)}">
<header><a class="permalink" href="#ex=${encodeURIComponent(e.id)}" title="link to this example">¶</a>
<span class="eid">${esc(e.id)}</span><span class="meta">${esc(e.m)} · ${esc(e.d)} · ${esc(e.q)}</span></header>
<div class="query">${esc(e.k)}</div>
<div class="refs"><span class="label">reference${e.r.length > 1 ? "s" : ""}${recall}</span>${references}</div>
<div class="preds">${shownRuns().map((r) => predictionHtml(e, r)).join("")}</div>
${turnsHtml(i)}
</article>`;
  }

  function predictionHtml(e, r) {
    const p = e.p[r];
    const run = RUNS[r];
    const head = `<h3>${esc(run.label)}</h3>`;
    if (!p) return `<section class="pred missing r${r % COLORS.length}">${head}missing from this run</section>`;
    const chips = KEYS.filter((k) => !["nt", "ni"].includes(k.k))
      .map((k) => `<span>${esc(k.l)} <b>${format(k.k, p.s[k.k])}</b></span>`).join("");
    const prompt = p.st === "extractive" ? "extractive: no prompt"
      : p.s.ni === null ? "prompt tokens: not recorded"
      : `prompt: ${p.s.ni} tokens${p.tr ? ", truncated" : p.tr === false ? ", not truncated" : ""}`;
    const fed = p.fed ? `${p.fn}: ${spanCount(p.fed)} turns` : p.fn;
    let own = "";
    if (p.rr) {
      const texts = p.rr.map((text, j) => `<div class="text">${highlight(text, p.rro[j], j === p.rb ? p.rh : null, null)}</div>`);
      own = `<details><summary class="note warn">scored against its own references (they differ from the data's)</summary>${texts.join("")}</details>`;
    }
    return `<section class="pred r${r % COLORS.length}">${head}<div class="chips">${chips}<span>tokens <b>${p.s.nt}</b></span></div>
<div class="text">${highlight(p.t, p.o, p.h, p.f)}</div>
<div class="note">${esc(prompt)} · ${esc(fed)}</div>${own}${judgeHtml(p.j)}</section>`;
  }

  // The verdicts of qmsum-fast judge (view --judgments): key points, which were found, reasoning.
  function judgeHtml(j) {
    if (!j) return "";
    const figure = (v) => (v === null || v === undefined ? "–" : Number(v).toFixed(3));
    const head = j.sc === null ? `<span class="warn">judge: not judged</span>`
      : `judge: score <b>${figure(j.sc)}</b> · recall ${figure(j.re)} · precision ${figure(j.pr)} (${j.ps}/${j.sn} sentences) · fluency ${j.fl}`;
    const points = j.kp.map((list, n) => {
      if (!list) return "";
      const found = j.sp[n];
      const items = list.map((text, k) => {
        const mark = found ? (found.includes(k + 1) ? "✓ " : "✗ ") : "";
        return `<li>${mark}${esc(text)}</li>`;
      }).join("");
      const count = j.fo[n] === null || j.fo[n] === undefined ? "" : ` (${j.fo[n]} of ${list.length} found)`;
      return `<div class="note">key points of reference ${n + 1}${count}</div><ol class="kp">${items}</ol>`;
    }).join("");
    const reply = (label, text) => (text ? `<div class="note">${label}</div><pre class="reply">${esc(text)}</pre>` : "");
    const replies = j.rr.map((text, n) => reply(`recall reply (reference ${n + 1})`, text)).join("")
      + reply("precision reply", j.rp) + reply("fluency reply", j.rf);
    const errors = j.er.map((text) => `<div class="note warn">${esc(text)}</div>`).join("");
    return `<details class="judge"><summary class="note">${head}</summary>${errors}${points}${replies}</details>`;
  }

  function turnsHtml(i) {
    const e = EXAMPLES[i];
    const fedRuns = shownRuns().filter((r) => e.p[r] && e.p[r].fed);
    const gold = spanCount(e.g);
    if (!gold && !fedRuns.length) {
      const why = e.q === "general" ? "general query: no gold spans" : "no gold spans in the data";
      return `<div class="note">${why}</div>`;
    }
    const fed = fedRuns.map((r) => ` · fed by ${esc(RUNS[r].label)}: ${spanCount(e.p[r].fed)}`).join("");
    return `<details class="turns" data-i="${i}"><summary>transcript turns: gold spans ${gold}${fed}</summary><div class="turn-list"></div></details>`;
  }

  // The gold and fed turns of a card, built when first opened (they can be long).
  function fillTurns(details) {
    const list = details.querySelector(".turn-list");
    if (list.childElementCount) return;
    const e = EXAMPLES[Number(details.dataset.i)];
    const tags = new Map();
    const tag = (spans, name) => spans.forEach(([start, end]) => {
      for (let t = start; t <= end; t++) tags.set(t, (tags.get(t) || []).concat(name));
    });
    tag(e.g, "gold");
    shownRuns().forEach((r) => e.p[r] && e.p[r].fed && tag(e.p[r].fed, RUNS[r].label));
    const turns = DATA.turns[e.tk];
    let out = "";
    let previous = -1;
    [...tags.keys()].sort((x, y) => x - y).forEach((t) => {
      if (t > previous + 1) out += `<div class="gap">… ${t - previous - 1} turns …</div>`;
      const names = tags.get(t);
      const cls = names.includes("gold") ? "turn gold" : "turn";
      out += `<div class="${cls}"><span class="ti">#${t}</span><span class="tags">${esc(names.join(" · "))}</span>${esc(turns.t[t] || "")}</div>`;
      previous = t;
    });
    if (previous < turns.n - 1) out += `<div class="gap">… ${turns.n - previous - 1} turns …</div>`;
    list.innerHTML = out;
  }

  function renderMore(count) {
    const end = Math.min(order.length, rendered + count);
    if (end > rendered) cards.insertAdjacentHTML("beforeend", order.slice(rendered, end).map(cardHtml).join(""));
    rendered = end;
    $("more").textContent = rendered < order.length ? `${order.length - rendered} more below…` : "";
  }

  function renderCards() {
    cards.innerHTML = "";
    rendered = 0;
    current = -1;
    cards.className = state.hl.split(",").filter(Boolean).map((h) => "hl-" + h).join(" ");
    renderMore(BATCH);
  }

  // --- the difference plot ----------------------------------------------------------------

  function drawPlot() {
    const key = KEY[state.key];
    const points = order.map((i) => [i, scoreOf(i, state.a), scoreOf(i, state.b)])
      .filter(([, a, b]) => a !== null && b !== null)
      .map(([i, a, b]) => [i, a - b]);
    points.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
    const better = points.filter(([, d]) => d > 0).length;
    const worse = points.filter(([, d]) => d < 0).length;
    const mean = points.length ? points.reduce((s, [, d]) => s + d, 0) / points.length : 0;
    const a = RUNS[state.a].label;
    const b = RUNS[state.b].label;
    $("plot-summary").textContent = points.length
      ? `${key.l}, ${a} − ${b} over ${points.length} shown examples both answer: ${a} higher on ${better}, ` +
        `${b} higher on ${worse}, equal on ${points.length - better - worse}; mean ${format(state.key, mean)}`
      : "no shown example is answered by both runs";
    const width = 960;
    const height = 160;
    const pad = 40;
    const margin = 10;
    const values = points.map(([, d]) => d);
    const high = Math.max(0, ...values);
    const low = Math.min(0, ...values);
    const range = high - low || 1;
    const step = (width - 2 * pad) / Math.max(points.length, 1);
    const y = (d) => margin + ((high - d) / range) * (height - 2 * margin);
    const label = (d) => `<text x="2" y="${(y(d) + 4).toFixed(2)}" font-size="11">${d ? format(state.key, d) : "0"}</text>`;
    // The bounds, and 0 between them, unless a bound would overprint the 0.
    const labels = [...new Set([high, 0, low])].filter((d) => d === 0 || Math.abs(y(d) - y(0)) >= 14).map(label).join("");
    const bars = points.map(([i, d], n) => {
      const x = pad + n * step;
      const y0 = Math.min(y(0), y(d));
      const h = Math.max(Math.abs(y(d) - y(0)), d === 0 ? 0 : 1);
      const color = d >= 0 ? "var(--good)" : "var(--bad)";
      return `<rect data-i="${i}" x="${x.toFixed(2)}" y="${y0.toFixed(2)}" width="${Math.max(step - 0.5, 0.5).toFixed(2)}" ` +
        `height="${h.toFixed(2)}" fill="${color}"><title>${esc(EXAMPLES[i].id)}: ${format(state.key, d)}</title></rect>`;
    }).join("");
    $("plot").innerHTML = `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="per-example difference">
<line x1="${pad}" x2="${width - pad}" y1="${y(0)}" y2="${y(0)}" stroke="#888"/>
${labels}
${bars}</svg>`;
  }

  // --- focus and keyboard -------------------------------------------------------------------

  function focusAt(position, scroll = true) {
    if (position < 0 || position >= order.length) return;
    while (rendered <= position) renderMore(BATCH);
    const previous = cards.querySelector(".card.current");
    if (previous) previous.classList.remove("current");
    const card = $("card-" + order[position]);
    card.classList.add("current");
    if (scroll) card.scrollIntoView({ block: "start" });
    current = position;
    state.ex = EXAMPLES[order[position]].id;
    writeHash();
    updateStatus();
  }

  function onKey(event) {
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test(event.target.tagName);
    if (typing) {
      if (event.key === "Escape") event.target.blur();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const moves = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 };
    if (event.key in moves) {
      event.preventDefault();
      focusAt(Math.min(Math.max(current + moves[event.key], 0), order.length - 1));
    } else if (event.key === "o" && current >= 0) {
      const details = $("card-" + order[current]).querySelector("details.turns");
      if (details) details.open = !details.open;
    } else if (event.key === "/") {
      event.preventDefault();
      $("search").focus();
    }
  }

  // --- controls --------------------------------------------------------------------------

  function options(select, pairs) {
    select.innerHTML += pairs.map(([value, label]) => `<option value="${esc(value)}">${esc(label)}</option>`).join("");
  }

  function setupControls() {
    const runs = RUNS.map((run, i) => [i, run.label]);
    options($("run-a"), runs);
    options($("run-b"), runs);
    options($("key"), KEYS.map((k) => [k.k, k.l]));
    options($("domain"), [...new Set(EXAMPLES.map((e) => e.d))].map((d) => [d, d]));
    options($("type"), [...new Set(EXAMPLES.map((e) => e.q))].map((q) => [q, q]));
    $("run-toggles").innerHTML = RUNS.map((run, i) =>
      `<label style="border-bottom:3px solid ${COLORS[i % COLORS.length]}"><input type="checkbox" data-run="${i}"> ${esc(run.label)}</label>`).join("");
    const bind = (id, name) => $(id).addEventListener("change", () => { state[name] = $(id).value; apply(); });
    [["run-a", "a"], ["run-b", "b"], ["key", "key"], ["domain", "domain"], ["type", "type"], ["only", "only"],
      ["sort", "sort"], ["dir", "dir"], ["frag-min", "fm"]].forEach(([id, name]) => bind(id, name));
    $("run-toggles").addEventListener("change", () => {
      state.show = [...document.querySelectorAll("#run-toggles input")].filter((x) => x.checked).map((x) => x.dataset.run).join(",");
      apply();
    });
    ["hl-overlap", "hl-frag"].forEach((id) => $(id).addEventListener("change", () => {
      state.hl = ["overlap", "frag"].filter((h) => $("hl-" + h).checked).join(",");
      apply();
    }));
    let timer = 0;
    $("search").addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.q = $("search").value; apply(); }, 150);
    });
    $("plot").addEventListener("click", (event) => {
      const rect = event.target.closest("rect");
      if (rect) focusAt(order.indexOf(Number(rect.dataset.i)));
    });
    cards.addEventListener("click", (event) => {
      const link = event.target.closest("a.permalink");
      if (!link) return;
      event.preventDefault(); // keep the filters: the address bar gets them with the example
      focusAt(order.indexOf(Number(link.closest(".card").dataset.i)), false);
    });
    document.addEventListener("toggle", (event) => {
      if (event.target.matches && event.target.matches("details.turns") && event.target.open) fillTurns(event.target);
    }, true);
    document.addEventListener("keydown", onKey);
    window.addEventListener("hashchange", () => { readHash(); showState(); apply(); });
    new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) renderMore(BATCH);
    }, { rootMargin: "600px" }).observe($("more"));
  }

  // The controls show the state (after reading it from the URL).
  function showState() {
    const values = { "run-a": state.a, "run-b": state.b, key: state.key, domain: state.domain, type: state.type,
      only: state.only, sort: state.sort, dir: state.dir, "frag-min": state.fm, search: state.q };
    for (const [id, value] of Object.entries(values)) $(id).value = value;
    const shown = new Set(shownRuns());
    document.querySelectorAll("#run-toggles input").forEach((x) => { x.checked = shown.has(Number(x.dataset.run)); });
    const highlights = state.hl.split(",");
    $("hl-overlap").checked = highlights.includes("overlap");
    $("hl-frag").checked = highlights.includes("frag");
  }

  function updateStatus() {
    $("status").textContent = `${order.length} of ${EXAMPLES.length} examples` +
      (current >= 0 ? ` · #${current + 1} ${EXAMPLES[order[current]].id}` : "");
    document.body.dataset.shown = String(order.length);
    document.body.dataset.first = order.length ? EXAMPLES[order[0]].id : "";
  }

  function apply() {
    const example = state.ex;
    computeOrder();
    renderCards();
    drawPlot();
    updateStatus();
    const position = example ? order.findIndex((i) => EXAMPLES[i].id === example) : -1;
    if (position >= 0) focusAt(position);
    else { state.ex = ""; writeHash(); }
  }

  function about() {
    const stem = DATA.stemmer ? ", stemmed" : "";
    $("about").textContent = `${EXAMPLES.length} examples · ${RUNS.length} runs · data ${DATA.data}, split ${DATA.split} · ` +
      `metric ${DATA.metric} · marked: words ROUGE-1 counted (rouge-score tokens${stem}), underlined: ` +
      `fragments copied from the transcript · qmsum-fast ${DATA.version}`;
  }

  function start() {
    about();
    setupControls();
    readHash();
    showState();
    apply();
    // For tests and for the curious: the order shown and when the page was ready.
    window.qmsumView = { order: () => order.map((i) => EXAMPLES[i].id), state: () => Object.assign({}, state) };
    document.body.dataset.readyMs = performance.now().toFixed(0);
    document.body.dataset.ready = "1";
  }

  start();
})();
