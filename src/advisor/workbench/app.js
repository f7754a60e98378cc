// The workbench: guided intake, the live assessment, why / why not, what if, scenarios and documents.
// Everything from the person or the server is inserted as text (dom.h), never as HTML.

import * as api from "./api.js";
import { fill, fold, h, nearestIds } from "./dom.js";
import { renderWhy, renderWhyNot } from "./explain.js";

const LANG = new URLSearchParams(location.search).get("lang") === "ja" ? "ja" : "en";
const LANG_PARAM = LANG === "ja" ? "ja" : undefined;
const DEBOUNCE_MS = 400;
const CHANGEABLE = ["type", "region", "states", "targets", "actor", "severity", "attributes"];
const INJECT_TEXTS = ["time", "description", "delivery", "from", "to"];
const KINDS = ["recommendations", "frameworks", "agencies", "states", "types", "regions", "targets", "attributes"];

let T = {};
/** A UI string of i18n.json, with {name} placeholders filled in. */
export function t(key, vars = {}) {
  let text = T[key] ?? key;
  for (const [k, v] of Object.entries(vars)) text = text.split(`{${k}}`).join(String(v));
  return text;
}

const $ = (id) => document.getElementById(id);

// --- the vocabularies -----------------------------------------------------------------------------

const catalog = {}; // kind -> list of entries
const byId = {}; // kind -> Map(id -> entry)
const aliases = {}; // field -> Map(folded name -> id)
let schema = null;
let enums = { actor: [], severity: [] };

/** In Japanese, the catalog's Japanese labels shown (label_ja, title_ja), the English kept as aliases. */
function japanese() {
  if (LANG !== "ja") return;
  for (const kind of ["types", "regions", "targets", "attributes"]) {
    for (const e of catalog[kind]) {
      if (!e.label_ja) continue;
      e.aliases = [...(e.label ? [e.label] : []), ...(e.aliases || [])];
      if (kind === "attributes") e.meaning = e.label_ja;
      else e.label = e.label_ja;
    }
  }
  for (const e of catalog.recommendations) if (e.title_ja) e.title = e.title_ja;
}

function buildAliases() {
  japanese();
  const table = (entries, names) => {
    const map = new Map();
    for (const e of entries) map.set(fold(e.id), e.id);
    for (const e of entries) {
      for (const name of names(e)) if (name && !map.has(fold(name))) map.set(fold(name), e.id);
    }
    return map;
  };
  aliases.type = table(catalog.types, (e) => [e.label, ...(e.aliases || [])]);
  aliases.region = table(catalog.regions, (e) => [e.label, ...(e.aliases || [])]);
  aliases.targets = table(catalog.targets, (e) => [e.label, ...(e.aliases || [])]);
  aliases.states = table(catalog.states, (e) => [e.name, e.name_ja, ...(e.aliases || [])]);
  aliases.attributes = table(catalog.attributes, () => []);
  for (const field of ["actor", "severity"]) aliases[field] = new Map(enums[field].map((v) => [fold(v), v]));
  for (const kind of KINDS) {
    byId[kind] = new Map(catalog[kind].map((e) => [String(e.id ?? e.number), e]));
  }
}

/** The canonical id for what a person typed in a field, or null. */
function resolve(field, text) {
  const s = String(text ?? "").trim();
  if (!s) return null;
  return aliases[field].get(fold(s)) ?? null;
}

/** A name to show for an id: Japanese where the catalog has it and the page is in Japanese. */
function nameOf(kind, id) {
  const e = byId[kind] && byId[kind].get(String(id));
  if (!e) return String(id).replace(/_/g, " ");
  if (kind === "recommendations") return `${t("rec_n", { n: id })}: ${e.title}`;
  if (LANG === "ja" && e.name_ja) return e.name_ja;
  return e.name || e.label || String(id);
}

function itemName(item) {
  return (LANG === "ja" && item.name_ja) || item.name || item.id;
}

function maxLength(prop) {
  if (!prop) return undefined;
  if (prop.maxLength) return prop.maxLength;
  for (const alt of prop.anyOf || []) if (alt.maxLength) return alt.maxLength;
  return undefined;
}

// --- the model: what the person typed ------------------------------------------------------------

function emptyModel() {
  return {
    id: "",
    title: "",
    description: "",
    type: "",
    region: "",
    states: [],
    targets: [],
    actor: "unknown",
    severity: "moderate",
    attributes: {},
    exercise: null,
    injects: [],
    extra: {},
  };
}

function emptyInject() {
  const changes = Object.fromEntries(CHANGEABLE.map((k) => [k, ""]));
  return { title: "", time: "", description: "", delivery: "", from: "", to: "", changes, resolves: "", extra: {} };
}

let model = emptyModel();

const text = (v) => (v === undefined || v === null ? "" : String(v));
const list = (v) => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
const splitList = (s) =>
  String(s || "")
    .split(/[,;]/)
    .map((p) => p.trim())
    .filter(Boolean);

/** The model of a descriptor (a loaded file, or a what-if applied to the form). */
function modelOf(d) {
  const m = emptyModel();
  for (const [key, value] of Object.entries(d)) {
    if (["id", "title", "description", "type", "region", "actor", "severity"].includes(key)) m[key] = text(value);
    else if (key === "states") m.states = list(value).map(text);
    else if (key === "targets") m.targets = list(value).map((v) => resolve("targets", v) ?? text(v));
    else if (key === "attributes" && value && typeof value === "object") m.attributes = { ...value };
    else if (key === "exercise" && value && typeof value === "object") m.exercise = exerciseModel(value);
    else if (key === "injects") m.injects = list(value).map(injectModel);
    else m.extra[key] = value;
  }
  return m;
}

function exerciseModel(x) {
  const out = { name: "", sponsor: "", dates: "", marking: "", objectives: [], players: [], extra: {} };
  for (const [key, value] of Object.entries(x)) {
    if (["name", "sponsor", "dates", "marking"].includes(key)) out[key] = text(value);
    else if (key === "objectives")
      out.objectives = list(value).map((o) => ({
        id: text(o && o.id),
        text: text(o && o.text),
        recommendations: list(o && o.recommendations).join(", "),
      }));
    else if (key === "players")
      out.players = list(value).map((p) => ({ role: text(p && p.role), agency: text(p && p.agency) }));
    else out.extra[key] = value;
  }
  return out;
}

function injectModel(x) {
  const out = emptyInject();
  if (!x || typeof x !== "object") return out;
  for (const [key, value] of Object.entries(x)) {
    if (key === "title" || INJECT_TEXTS.includes(key)) out[key] = text(value);
    else if (key === "resolves") out.resolves = Array.isArray(value) ? value.join(", ") : text(value);
    else if (key === "changes" && value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) {
        if (k === "attributes" && v && typeof v === "object")
          out.changes.attributes = Object.entries(v)
            .map(([a, on]) => (on ? a : `-${a}`))
            .join(", ");
        else if (CHANGEABLE.includes(k)) out.changes[k] = Array.isArray(v) ? v.join(", ") : text(v);
        else out.extra.changes = { ...(out.extra.changes || {}), [k]: v };
      }
    } else out.extra[key] = value;
  }
  return out;
}

function slug(s) {
  return (
    String(s || "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 60) || "threat"
  );
}

/** The descriptor the model stands for: aliases resolved to ids, unknown values as typed. */
function build() {
  const m = model;
  const d = {};
  const type = resolve("type", m.type) ?? m.type.trim();
  d.id = m.id.trim() || slug(m.title || type);
  if (m.title.trim()) d.title = m.title;
  if (m.description.trim()) d.description = m.description;
  if (type) d.type = type;
  if (m.region.trim()) d.region = resolve("region", m.region) ?? m.region.trim();
  const states = [...new Set(m.states.map((s) => resolve("states", s) ?? s.trim()).filter(Boolean))];
  if (states.length) d.states = states;
  if (m.targets.length) d.targets = [...m.targets];
  d.actor = m.actor;
  d.severity = m.severity;
  if (Object.keys(m.attributes).length) d.attributes = { ...m.attributes };
  if (m.exercise) d.exercise = buildExercise(m.exercise);
  if (m.injects.length) d.injects = m.injects.map(buildInject);
  return Object.assign(d, m.extra);
}

function buildExercise(x) {
  const out = { name: x.name };
  for (const key of ["sponsor", "dates", "marking"]) if (x[key].trim()) out[key] = x[key];
  const objectives = x.objectives
    .filter((o) => o.text.trim())
    .map((o, i) => ({ id: o.id || `O${i + 1}`, text: o.text, recommendations: numbers(o.recommendations) }));
  if (objectives.length) out.objectives = objectives;
  const players = x.players
    .filter((p) => p.role.trim())
    .map((p) => (p.agency ? { role: p.role, agency: p.agency } : { role: p.role }));
  if (players.length) out.players = players;
  return Object.assign(out, x.extra);
}

function numbers(s) {
  return String(s || "")
    .split(/[,;\s]+/)
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function buildInject(i) {
  const out = { title: i.title };
  for (const key of INJECT_TEXTS) if (i[key].trim()) out[key] = i[key];
  const c = {};
  const ch = i.changes;
  for (const key of ["type", "region", "actor", "severity"]) {
    if (ch[key].trim()) c[key] = resolve(key, ch[key]) ?? ch[key].trim();
  }
  for (const key of ["states", "targets"]) {
    if (ch[key].trim()) c[key] = splitList(ch[key]).map((p) => resolve(key, p) ?? p);
  }
  if (ch.attributes.trim()) {
    c.attributes = {};
    for (const part of splitList(ch.attributes)) {
      const on = !part.startsWith("-");
      const name = part.replace(/^-\s*/, "");
      c.attributes[resolve("attributes", name) ?? fold(name)] = on;
    }
  }
  out.changes = Object.assign(c, i.extra.changes || {});
  const resolves = i.resolves.trim();
  if (resolves) out.resolves = resolves.toLowerCase() === "all" ? "all" : numbers(resolves);
  const { changes: _ignored, ...rest } = i.extra;
  return Object.assign(out, rest);
}

// --- the form -------------------------------------------------------------------------------------

const slots = new Map(); // field path -> {slot, control, fix}
const resolvedHints = new Map(); // field path -> {el, field, get}

function register(path, slot, control, fix) {
  slots.set(path, { slot, control, fix });
}

/** One labelled field: label, help, the control, what it resolves to, and its error slot. */
function field(path, label, control, { help, resolves, fix } = {}) {
  const base = `f-${path.replace(/[^a-z0-9]+/gi, "-")}`;
  control.id = control.id || base;
  const helpEl = help ? h("p", { class: "help", id: `${base}-help` }, help) : null;
  const resEl = resolves ? h("p", { class: "resolved", id: `${base}-res` }) : null;
  const errEl = h("div", { class: "error-slot", id: `${base}-err` });
  control.setAttribute("aria-describedby", [helpEl, resEl, errEl].filter(Boolean).map((e) => e.id).join(" "));
  register(path, errEl, control, fix);
  if (resolves) resolvedHints.set(path, { el: resEl, ...resolves });
  return h("div", { class: "field" }, h("label", { for: control.id }, label), helpEl, control, resEl, errEl);
}

function textInput(get, set, { maxlength, multiline, listId, autocomplete = "off" } = {}) {
  const el = multiline
    ? h("textarea", { rows: 3, maxlength })
    : h("input", { type: "text", maxlength, list: listId, autocomplete, spellcheck: "false" });
  el.value = get();
  el.addEventListener("input", () => {
    set(el.value);
    changed();
  });
  return el;
}

function select(options, get, set) {
  const el = h(
    "select",
    {},
    options.map(([value, label]) => h("option", { value }, label)),
  );
  const current = get();
  if (current && !options.some(([v]) => v === current)) el.append(h("option", { value: current }, current));
  el.value = current;
  el.addEventListener("change", () => {
    set(el.value);
    changed();
  });
  return el;
}

function datalists() {
  const opts = (entries, label) => entries.map((e) => h("option", { value: e.id }, label(e)));
  const aka = (e) => (e.aliases && e.aliases.length ? ` (${e.aliases.slice(0, 4).join(", ")})` : "");
  return h(
    "div",
    { hidden: true },
    h("datalist", { id: "dl-types" }, opts(catalog.types, (e) => `${e.label}${aka(e)}`)),
    h("datalist", { id: "dl-regions" }, opts(catalog.regions, (e) => `${e.label}${aka(e)}`)),
    h(
      "datalist",
      { id: "dl-states" },
      opts(catalog.states, (e) => (LANG === "ja" && e.name_ja ? `${e.name_ja} ${e.name}` : e.name)),
    ),
  );
}

function renderForm() {
  slots.clear();
  resolvedHints.clear();
  const P = schema.properties;
  const m = model;
  const form = $("form");
  const typeInput = textInput(
    () => m.type,
    (v) => (m.type = v),
    { listId: "dl-types" },
  );
  typeInput.setAttribute("aria-required", "true");
  const regionInput = textInput(
    () => m.region,
    (v) => (m.region = v),
    { listId: "dl-regions" },
  );
  fill(
    form,
    datalists(),
    h("div", { class: "error-slot", id: "form-errors" }),
    field("type", t("field_type"), typeInput, {
      help: t("type_help"),
      resolves: { field: "type", kind: "types", get: () => m.type },
      fix: (v) => setText(typeInput, v, (x) => (m.type = x)),
    }),
    field("region", t("field_region"), regionInput, {
      help: t("region_help"),
      resolves: { field: "region", kind: "regions", get: () => m.region },
      fix: (v) => setText(regionInput, v, (x) => (m.region = x)),
    }),
    statesField(),
    checkboxGroup(
      "targets",
      t("field_targets"),
      catalog.targets.map((e) => [e.id, e.label]),
      (id) => m.targets.includes(id),
      (id, on) => {
        m.targets = on ? [...m.targets, id] : m.targets.filter((x) => x !== id);
      },
      (v, problem) => {
        const bad = badValue(problem);
        m.targets = m.targets.map((x) => (x === bad ? v : x));
        renderForm();
      },
    ),
    h(
      "div",
      { class: "pair" },
      field(
        "actor",
        t("field_actor"),
        select(
          enums.actor.map((v) => [v, v.replace(/_/g, " ")]),
          () => m.actor,
          (v) => (m.actor = v),
        ),
        { fix: (v) => fixSelect("actor", v) },
      ),
      field(
        "severity",
        t("field_severity"),
        select(
          enums.severity.map((v) => [v, v]),
          () => m.severity,
          (v) => (m.severity = v),
        ),
        { fix: (v) => fixSelect("severity", v) },
      ),
    ),
    checkboxGroup(
      "attributes",
      t("field_attributes"),
      catalog.attributes.map((e) => [e.id, `${e.id.replace(/_/g, " ")}: ${e.meaning}`]),
      (id) => m.attributes[id] === true,
      (id, on) => {
        if (on) m.attributes[id] = true;
        else delete m.attributes[id];
      },
    ),
    field("title", t("field_title"), textInput(() => m.title, (v) => (m.title = v), { maxlength: maxLength(P.title) })),
    field(
      "description",
      t("field_description"),
      textInput(() => m.description, (v) => (m.description = v), {
        maxlength: maxLength(P.description),
        multiline: true,
      }),
    ),
    field(
      "id",
      t("field_id"),
      textInput(() => m.id, (v) => (m.id = v), { maxlength: maxLength(P.id) }),
    ),
    exerciseFieldset(),
    injectsFieldset(),
  );
  const idInput = $("f-id");
  idInput.placeholder = build().id;
  updateResolved();
}

function setText(input, value, set) {
  input.value = value;
  set(value);
  input.focus();
  changed();
}

function fixSelect(path, value) {
  const s = slots.get(path);
  model[path] = value;
  renderForm();
  const again = slots.get(path) || s;
  again.control.focus();
  changed();
}

/** The value a problem's message names as unknown, e.g. "[0] unknown value 'Indonesa'". */
function badValue(problem) {
  const found = /unknown value '([^']*)'/.exec(problem.message || "");
  return found ? found[1] : null;
}

function checkboxGroup(path, legend, options, isOn, toggle, fix) {
  const err = h("div", { class: "error-slot", id: `f-${path}-err` });
  const fs = h(
    "fieldset",
    { class: "checks", "aria-describedby": err.id },
    h("legend", {}, legend),
    h(
      "div",
      { class: "check-grid" },
      options.map(([id, label]) => {
        const box = h("input", { type: "checkbox", id: `f-${path}-${id}`, value: id, checked: isOn(id) });
        box.addEventListener("change", () => {
          toggle(id, box.checked);
          changed();
        });
        return h("div", { class: "check" }, box, h("label", { for: box.id }, label));
      }),
    ),
    err,
  );
  register(path, err, fs, fix);
  return fs;
}

function statesField() {
  const m = model;
  const input = h("input", { type: "text", list: "dl-states", autocomplete: "off", spellcheck: "false" });
  const chips = h("ul", { class: "chips", id: "state-chips" });
  const add = () => {
    const value = input.value.trim();
    if (!value) return;
    m.states.push(value);
    input.value = "";
    renderChips();
    changed();
    input.focus();
  };
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      add();
    }
  });
  const button = h("button", { type: "button", class: "secondary", onclick: add }, t("field_states_add"));
  function renderChips() {
    fill(
      chips,
      m.states.map((raw, i) => {
        const code = resolve("states", raw);
        const label = code ? `${nameOf("states", code)} (${code})` : `${raw} ?`;
        return h(
          "li",
          { class: code ? "chip" : "chip invalid" },
          h("span", {}, label),
          h(
            "button",
            {
              type: "button",
              class: "chip-remove",
              "aria-label": t("remove", { name: label }),
              onclick: () => {
                m.states.splice(i, 1);
                renderChips();
                changed();
                input.focus();
              },
            },
            "×",
          ),
        );
      }),
    );
  }
  renderChips();
  const el = field("states", t("field_states"), input, {
    help: t("states_help"),
    fix: (v, problem) => {
      const index = /^\[(\d+)\]/.exec(problem.message || "");
      const bad = badValue(problem);
      let i = index ? Number(index[1]) : -1;
      if (i < 0 || i >= m.states.length) i = m.states.findIndex((s) => s === bad);
      if (i >= 0) m.states[i] = v;
      renderChips();
      input.focus();
      changed();
    },
  });
  el.append(h("div", { class: "row" }, button), chips);
  return el;
}

// --- exercise and injects --------------------------------------------------------------------------

function exerciseFieldset() {
  const m = model;
  const defs = schema.$defs || {};
  const XP = (defs.Exercise || {}).properties || {};
  const box = h("input", { type: "checkbox", id: "f-exercise-on", checked: Boolean(m.exercise) });
  const inner = h("div", { class: "nested" });
  box.addEventListener("change", () => {
    m.exercise = box.checked
      ? { name: "", sponsor: "", dates: "", marking: "", objectives: [], players: [], extra: {} }
      : null;
    renderInner();
    changed();
    if (box.checked) $("f-exercise-name").focus();
  });
  function renderInner() {
    for (const key of [...slots.keys()]) if (key.startsWith("exercise.")) slots.delete(key);
    const x = m.exercise;
    if (!x) {
      fill(inner);
      return;
    }
    const texts = [
      ["name", "exercise_name"],
      ["sponsor", "exercise_sponsor"],
      ["dates", "exercise_dates"],
      ["marking", "exercise_marking"],
    ].map(([key, label]) =>
      field(
        `exercise.${key}`,
        t(label),
        textInput(() => x[key], (v) => (x[key] = v), { maxlength: maxLength(XP[key]) }),
      ),
    );
    const objectives = h("div", { class: "rows" });
    const players = h("div", { class: "rows" });
    const renderObjectives = () => {
      fill(
        objectives,
        x.objectives.map((o, i) => {
          const id = o.id || `O${i + 1}`;
          return h(
            "div",
            { class: "row-group" },
            field(
              `exercise.objectives.${i}.text`,
              t("objective_text", { id }),
              textInput(() => o.text, (v) => (o.text = v), { maxlength: 500 }),
            ),
            field(
              `exercise.objectives.${i}.recommendations`,
              t("objective_recs", { id }),
              textInput(() => o.recommendations, (v) => (o.recommendations = v)),
            ),
            h(
              "button",
              {
                type: "button",
                class: "secondary",
                onclick: () => {
                  x.objectives.splice(i, 1);
                  renderObjectives();
                  changed();
                  $("add-objective").focus();
                },
              },
              t("remove", { name: id }),
            ),
          );
        }),
      );
    };
    const agencyOptions = [["", t("no_agency")], ...catalog.agencies.map((a) => [a.id, itemName(a)])];
    const renderPlayers = () => {
      fill(
        players,
        x.players.map((p, i) =>
          h(
            "div",
            { class: "row-group" },
            field(
              `exercise.players.${i}.role`,
              t("player_role", { n: i + 1 }),
              textInput(() => p.role, (v) => (p.role = v), { maxlength: 200 }),
            ),
            field(
              `exercise.players.${i}.agency`,
              t("player_agency", { n: i + 1 }),
              select(agencyOptions, () => p.agency, (v) => (p.agency = v)),
            ),
            h(
              "button",
              {
                type: "button",
                class: "secondary",
                onclick: () => {
                  x.players.splice(i, 1);
                  renderPlayers();
                  changed();
                  $("add-player").focus();
                },
              },
              t("remove", { name: t("player_role", { n: i + 1 }) }),
            ),
          ),
        ),
      );
    };
    renderObjectives();
    renderPlayers();
    fill(
      inner,
      texts,
      h(
        "fieldset",
        {},
        h("legend", {}, t("objectives")),
        objectives,
        h(
          "button",
          {
            type: "button",
            id: "add-objective",
            class: "secondary",
            onclick: () => {
              x.objectives.push({ id: `O${x.objectives.length + 1}`, text: "", recommendations: "" });
              renderObjectives();
              objectives.querySelector(".row-group:last-child input").focus();
            },
          },
          t("add_objective"),
        ),
      ),
      h(
        "fieldset",
        {},
        h("legend", {}, t("players")),
        players,
        h(
          "button",
          {
            type: "button",
            id: "add-player",
            class: "secondary",
            onclick: () => {
              x.players.push({ role: "", agency: "" });
              renderPlayers();
              players.querySelector(".row-group:last-child input").focus();
            },
          },
          t("add_player"),
        ),
      ),
    );
  }
  renderInner();
  return h(
    "fieldset",
    { class: "group" },
    h("legend", {}, t("exercise")),
    h("div", { class: "check" }, box, h("label", { for: box.id }, t("exercise_on"))),
    inner,
  );
}

function injectsFieldset() {
  const m = model;
  const container = h("div", { id: "injects-list" });
  const err = h("div", { class: "error-slot", id: "f-injects-err" });
  const fs = h(
    "fieldset",
    { class: "group", id: "injects" },
    h("legend", {}, t("injects")),
    h("p", { class: "help" }, t("injects_help")),
    container,
    err,
    h(
      "button",
      {
        type: "button",
        id: "add-inject",
        onclick: () => {
          m.injects.push(emptyInject());
          renderInjects();
          changed();
          $(`f-injects-${m.injects.length - 1}-title`).focus();
        },
      },
      t("add_inject"),
    ),
  );
  register("injects", err, fs);
  renderInjects.container = container;
  renderInjects();
  return fs;
}

function renderInjects(focus) {
  const m = model;
  const container = renderInjects.container;
  for (const key of [...slots.keys()]) if (key.startsWith("injects.")) slots.delete(key);
  const move = (i, j, which) => {
    const [x] = m.injects.splice(i, 1);
    m.injects.splice(j, 0, x);
    renderInjects();
    changed();
    const again = document.querySelector(`[data-inject="${j}"][data-action="${which}"]`);
    (again && !again.disabled ? again : $(`f-injects-${j}-title`)).focus();
  };
  fill(
    container,
    m.injects.map((inj, i) => {
      const n = i + 1;
      const p = `injects.${i}`;
      const err = h("div", { class: "error-slot", id: `f-injects-${i}-err` });
      const texts = [["title", "inject_title", 200], ...INJECT_TEXTS.map((k) => [k, `inject_${k}`, undefined])].map(
        ([key, label, max]) =>
          field(
            `${p}.${key}`,
            t(label),
            textInput(() => inj[key], (v) => (inj[key] = v), { maxlength: max, multiline: key === "description" }),
          ),
      );
      const change = (key) => {
        if (key === "actor" || key === "severity") {
          return field(
            `${p}.changes.${key}`,
            t(`change_${key}`),
            select(
              [["", t("unchanged")], ...enums[key].map((v) => [v, v.replace(/_/g, " ")])],
              () => inj.changes[key],
              (v) => (inj.changes[key] = v),
            ),
          );
        }
        const listId = key === "type" ? "dl-types" : key === "region" ? "dl-regions" : undefined;
        const input = textInput(
          () => inj.changes[key],
          (v) => (inj.changes[key] = v),
          { listId },
        );
        input.placeholder = t("unchanged");
        return field(`${p}.changes.${key}`, t(`change_${key}`), input, {
          fix: (v, problem) => {
            const bad = badValue(problem);
            const value =
              key === "states" || key === "targets"
                ? splitList(inj.changes[key])
                    .map((x) => (x === bad || (bad && fold(x) === fold(bad)) ? v : x))
                    .join(", ")
                : v;
            setText(input, value, (x) => (inj.changes[key] = x));
          },
        });
      };
      const fs = h(
        "fieldset",
        { class: "inject" },
        h("legend", {}, t("inject_n", { n }), inj.title ? `: ${inj.title}` : ""),
        h(
          "div",
          { class: "row" },
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              "data-inject": i,
              "data-action": "up",
              disabled: i === 0,
              onclick: () => move(i, i - 1, "up"),
            },
            "↑ ",
            t("move_up", { n }),
          ),
          h(
            "button",
            {
              type: "button",
              class: "secondary",
              "data-inject": i,
              "data-action": "down",
              disabled: i === m.injects.length - 1,
              onclick: () => move(i, i + 1, "down"),
            },
            "↓ ",
            t("move_down", { n }),
          ),
          h(
            "button",
            {
              type: "button",
              class: "secondary danger",
              onclick: () => {
                m.injects.splice(i, 1);
                renderInjects();
                changed();
                $("add-inject").focus();
              },
            },
            t("remove_inject", { n }),
          ),
        ),
        texts,
        h(
          "fieldset",
          { class: "changes" },
          h("legend", {}, t("inject_changes")),
          h("div", { class: "pair" }, CHANGEABLE.map(change)),
        ),
        field(`${p}.resolves`, t("inject_resolves"), textInput(() => inj.resolves, (v) => (inj.resolves = v))),
        err,
      );
      register(p, err, fs);
      return fs;
    }),
  );
  if (focus) focus();
}

// --- validation: client-side at once, the server's 422 when it answers ------------------------------

let clientProblems = [];
let serverProblems = [];

function unknown(field, value, where = "") {
  return {
    field,
    message: `${where}${t("unknown_value", { value })}`,
    nearest: nearestIds(value, aliases[field]),
  };
}

function validate() {
  const m = model;
  const out = [];
  if (!m.type.trim()) out.push({ field: "type", message: t("required"), nearest: [] });
  else if (!resolve("type", m.type)) out.push(unknown("type", m.type.trim()));
  if (m.region.trim() && !resolve("region", m.region)) out.push(unknown("region", m.region.trim()));
  m.states.forEach((s, i) => {
    if (!resolve("states", s)) out.push({ ...unknown("states", s, `[${i}] `), field: "states" });
  });
  if (m.exercise && !m.exercise.name.trim()) out.push({ field: "exercise.name", message: t("required_name") });
  m.injects.forEach((inj, i) => {
    for (const key of ["type", "region"]) {
      const v = inj.changes[key].trim();
      if (v && !resolve(key, v)) out.push({ ...unknown(key, v), field: `injects.${i}.changes.${key}` });
    }
    for (const key of ["states", "targets"]) {
      for (const part of splitList(inj.changes[key])) {
        if (!resolve(key, part)) out.push({ ...unknown(key, part), field: `injects.${i}.changes.${key}` });
      }
    }
  });
  return out;
}

function slotFor(path) {
  let p = path || "";
  while (p) {
    if (slots.has(p)) return slots.get(p);
    p = p.includes(".") ? p.slice(0, p.lastIndexOf(".")) : "";
  }
  return null;
}

function showProblems() {
  for (const { slot, control } of slots.values()) {
    fill(slot);
    if (control) control.removeAttribute("aria-invalid");
  }
  const general = $("form-errors");
  fill(general);
  const seen = new Set();
  const server = serverProblems.map((p) => p.field);
  const all = [...serverProblems, ...clientProblems.filter((p) => !server.includes(p.field))];
  for (const problem of all) {
    const key = `${problem.field}|${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const target = slotFor(problem.field);
    const slot = target ? target.slot : general;
    if (target && target.control && target.control.tagName !== "FIELDSET") {
      target.control.setAttribute("aria-invalid", "true");
    }
    const fixes = (problem.nearest || []).filter(Boolean);
    slot.append(
      h(
        "div",
        { class: "problem", "data-source": problem.source || "client", "data-field": problem.field || "" },
        h("p", { class: "error" }, target ? "" : `${problem.field || ""}: `, problem.message),
        target && target.fix && fixes.length
          ? h(
              "p",
              { class: "fixes" },
              t("did_you_mean"),
              " ",
              fixes.map((value) =>
                h(
                  "button",
                  {
                    type: "button",
                    class: "fix",
                    onclick: () => target.fix(value, problem),
                  },
                  t("use_value", { value }),
                ),
              ),
            )
          : null,
      ),
    );
  }
}

/** The nearest values of a server problem: a list (["malacca_strait"]) or, from an older server, the
 * quoted text ("'IDN' (Indonesia)", "one of 'a', 'b', ..."). Only plain values become one-click fixes. */
function serverNearest(nearest) {
  const values = Array.isArray(nearest)
    ? nearest.map(String)
    : nearest
      ? [...String(nearest).matchAll(/'([^']+)'/g)].map((x) => x[1])
      : [];
  return values.filter((v) => /^[\w.+\- ]+$/.test(v)).slice(0, 4);
}

function updateResolved() {
  for (const { el, field, kind, get } of resolvedHints.values()) {
    const id = resolve(field, get());
    const entry = id && byId[kind].get(id);
    fill(el, entry ? t("resolves_to", { value: `${entry.label} (${id})` }) : "");
  }
}

// --- the assessment, live -------------------------------------------------------------------------

let timer = null;
let seq = 0;
let current = null; // the assessment shown
let currentDescriptor = null; // the descriptor it answers

function changed() {
  serverProblems = [];
  clientProblems = validate();
  showProblems();
  updateResolved();
  updateJson();
  clearTimeout(timer);
  timer = setTimeout(assess, DEBOUNCE_MS);
}

function updateJson() {
  const d = build();
  fill($("json-view"), JSON.stringify(d, null, 2));
  const idInput = $("f-id");
  if (idInput) idInput.placeholder = d.id;
}

function status(message) {
  fill($("assess-status"), message);
}

async function assess() {
  const d = build();
  const mine = ++seq;
  if (!d.type) {
    current = null;
    currentDescriptor = null;
    fill($("assessment-body"), h("p", { class: "empty" }, t("assessment_empty")));
    fill($("absent-body"));
    status("");
    renderStages(null);
    return;
  }
  $("assessment").setAttribute("aria-busy", "true");
  status(t("assessing"));
  try {
    const a = await api.postJson("/v1/assess", { lang: LANG_PARAM }, d);
    if (mine !== seq) return;
    current = a;
    currentDescriptor = d;
    serverProblems = [];
    showProblems();
    renderAssessment(a);
    renderWhatIf();
    renderStages(a);
    status(
      t("assessed", { r: a.recommendations.length, f: a.frameworks.length, a: a.agencies.length }),
    );
    $("assessment-body").classList.remove("stale");
  } catch (exc) {
    if (mine !== seq) return;
    if (exc.status === 422 || exc.status === 413) {
      serverProblems = exc.problems.map((p) => ({
        field: p.field,
        message: p.message,
        nearest: serverNearest(p.nearest),
        source: "server",
      }));
      showProblems();
      status(t("assessment_error"));
      $("assessment-body").classList.add("stale");
    } else if (exc.status !== 401) {
      status(t("network_error", { message: exc.message }));
    }
  } finally {
    if (mine === seq) $("assessment").removeAttribute("aria-busy");
  }
}

const basisText = (b) => t(`basis_${b}`);

function itemButton(label, meta, onclick, extra = {}) {
  return h(
    "button",
    { type: "button", class: "item", onclick, ...extra },
    h("span", { class: "item-name" }, label),
    meta ? h("span", { class: "meta" }, meta) : null,
  );
}

function whyButton(id, label, meta) {
  const button = itemButton(label, meta, () => explain("why", id, label, button), {
    "data-why": id,
  });
  return button;
}

function section(title, body, count) {
  return h(
    "section",
    { class: "result" },
    h("h3", {}, title, count === undefined ? "" : ` (${count})`),
    body,
  );
}

function ulOf(items, render) {
  if (!items.length) return h("p", { class: "empty" }, t("none"));
  return h(
    "ul",
    { class: "items" },
    items.map((x) => h("li", {}, render(x))),
  );
}

const recs = (numbers) => (numbers && numbers.length ? t("rec_n", { n: numbers.join(", ") }) : "");

function renderAssessment(a) {
  const layers = [];
  for (const f of catalog.frameworks) if (!layers.includes(f.layer)) layers.push(f.layer);
  const byLayer = layers
    .map((layer) => [layer, a.frameworks.filter((f) => f.layer === layer)])
    .filter(([, items]) => items.length);
  fill(
    $("assessment-body"),
    h("p", { class: "help" }, t("why_hint")),
    section(
      t("nature"),
      h(
        "p",
        {},
        h("strong", {}, a.nature.category.replace(/_/g, " ")),
        ". ",
        t("derived"),
        ": ",
        a.nature.derived.map((x) => x.replace(/_/g, " ")).join(", "),
      ),
    ),
    section(
      t("recommendations"),
      ulOf(a.recommendations, (r) =>
        whyButton(String(r.number), `${r.number}. ${(byId.recommendations.get(String(r.number)) || r).title}`, `${basisText(r.basis)} · ${r.citations.join(", ")}`),
      ),
      a.recommendations.length,
    ),
    section(
      t("frameworks"),
      byLayer.length
        ? byLayer.map(([layer, items]) =>
            h(
              "div",
              { class: "layer" },
              h("h4", {}, t(`layer_${layer}`)),
              ulOf(items, (f) =>
                whyButton(
                  f.id,
                  itemName(f),
                  [t(`status_${f.status}`), basisText(f.basis), recs(f.recommendations)].filter(Boolean).join(" · "),
                ),
              ),
            ),
          )
        : h("p", { class: "empty" }, t("none")),
      a.frameworks.length,
    ),
    section(
      t("agencies"),
      ulOf(a.agencies, (g) =>
        h(
          "div",
          {},
          whyButton(
            g.id,
            itemName(g),
            `${t("role")}: ${g.role} (${basisText(g.role_basis)}) · ${recs(g.recommendations)}`,
          ),
          h(
            "ul",
            { class: "roles" },
            g.roles.map((r) =>
              h(
                "li",
                {},
                h("strong", {}, r.role),
                " · ",
                h("code", {}, r.rule),
                ` · ${basisText(r.basis)}`,
                r.note ? ` · ${r.note}` : "",
              ),
            ),
          ),
        ),
      ),
      a.agencies.length,
    ),
    section(
      t("states"),
      ulOf(a.states, (s) =>
        whyButton(s.code, `${itemName(s)} (${s.code})`, `${basisText(s.basis)} · ${recs(s.recommendations)}`),
      ),
      a.states.length,
    ),
    section(
      t("measures"),
      ulOf(a.measures, (x) => whyButton(x.id, x.text, `${basisText(x.basis)} · ${x.citation}`)),
      a.measures.length,
    ),
    section(
      t("caveats"),
      ulOf(a.caveats, (x) => whyButton(x.id, x.text, `${basisText(x.basis)} · ${x.citation}`)),
      a.caveats.length,
    ),
    a.notes && a.notes.length
      ? section(
          t("note"),
          ulOf(a.notes, (n) => (typeof n === "string" ? n : JSON.stringify(n))),
        )
      : null,
  );
  renderAbsent(a);
}

function renderAbsent(a) {
  const haveF = new Set(a.frameworks.map((f) => f.id));
  const haveA = new Set(a.agencies.map((g) => g.id));
  const absentF = catalog.frameworks.filter((f) => !haveF.has(f.id));
  const absentA = catalog.agencies.filter((g) => !haveA.has(g.id));
  const button = (e) => {
    const label = itemName(e);
    const b = itemButton(label, null, () => explain("why_not", e.id, label, b), { "data-why-not": e.id });
    b.classList.add("absent");
    return b;
  };
  const compact = (items) =>
    h(
      "ul",
      { class: "items compact" },
      items.map((e) => h("li", {}, button(e))),
    );
  const layers = [];
  for (const f of absentF) if (!layers.includes(f.layer)) layers.push(f.layer);
  const details = $("absent-details");
  const open = details ? details.open : false;
  fill(
    $("absent-body"),
    h(
      "details",
      { id: "absent-details", open },
      h(
        "summary",
        {},
        `${t("absent_frameworks")} (${absentF.length}) · ${t("absent_agencies")} (${absentA.length})`,
      ),
      h("h4", {}, t("absent_frameworks")),
      layers.map((layer) =>
        h(
          "div",
          { class: "layer" },
          h("h5", {}, t(`layer_${layer}`)),
          compact(absentF.filter((f) => f.layer === layer)),
        ),
      ),
      h("h4", {}, t("absent_agencies")),
      compact(absentA),
    ),
  );
}

// --- why and why not --------------------------------------------------------------------------------

let opener = null;

async function explain(kind, id, label, from) {
  if (!currentDescriptor) return;
  opener = from;
  const sec = $("explanation");
  const head = $("explanation-h");
  sec.hidden = false;
  fill(head, t(kind === "why" ? "why_title" : "why_not_title", { name: label }));
  fill($("explanation-body"), h("p", { class: "status" }, t("explain_loading")));
  head.focus();
  head.scrollIntoView({ block: "start" });
  try {
    const data = await api.postJson("/v1/explain", { [kind]: id }, currentDescriptor);
    fill($("explanation-body"), kind === "why" ? renderWhy(data.why, t) : renderWhyNot(data.why_not, t));
  } catch (exc) {
    fill($("explanation-body"), h("p", { class: "error" }, exc.message));
  }
}

function closeExplanation() {
  $("explanation").hidden = true;
  if (opener && opener.isConnected) opener.focus();
  else $("assessment-h").focus();
}

// --- what if ------------------------------------------------------------------------------------------

const whatIf = { type: "", region: "", severity: "", drop: new Set(), add: [], attrs: {} };
let whatIfTimer = null;
let whatIfSeq = 0;

function resetWhatIf() {
  whatIf.type = "";
  whatIf.region = "";
  whatIf.severity = "";
  whatIf.drop = new Set();
  whatIf.add = [];
  whatIf.attrs = {};
}

function renderWhatIf() {
  const d = currentDescriptor;
  const box = $("whatif-form");
  if (!d) {
    fill(box);
    return;
  }
  const sel = (id, label, options, key) => {
    const el = h(
      "select",
      { id },
      options.map(([v, l]) => h("option", { value: v }, l)),
    );
    el.value = whatIf[key];
    el.addEventListener("change", () => {
      whatIf[key] = el.value;
      scheduleWhatIf();
    });
    return h("div", { class: "field" }, h("label", { for: id }, label), el);
  };
  const states = [...(d.states || []), ...whatIf.add.filter((s) => !(d.states || []).includes(s))];
  const addInput = h("input", { type: "text", id: "wi-add-state", list: "dl-states", autocomplete: "off" });
  const addState = () => {
    const code = resolve("states", addInput.value);
    if (code && !states.includes(code)) {
      whatIf.add.push(code);
      renderWhatIf();
      scheduleWhatIf();
      $("wi-add-state").focus();
    }
  };
  addInput.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter") {
      ev.preventDefault();
      addState();
    }
  });
  fill(
    box,
    h(
      "div",
      { class: "pair" },
      sel("wi-type", t("whatif_type"), [["", t("as_now")], ...catalog.types.map((e) => [e.id, e.label])], "type"),
      sel(
        "wi-region",
        t("whatif_region"),
        [["", t("as_now")], ["-", t("not_set")], ...catalog.regions.map((e) => [e.id, e.label])],
        "region",
      ),
      sel(
        "wi-severity",
        t("whatif_severity"),
        [["", t("as_now")], ...enums.severity.map((v) => [v, v])],
        "severity",
      ),
    ),
    h(
      "fieldset",
      { class: "checks" },
      h("legend", {}, t("whatif_states")),
      h(
        "div",
        { class: "check-grid" },
        states.map((code) => {
          const box = h("input", { type: "checkbox", id: `wi-state-${code}`, checked: !whatIf.drop.has(code) });
          box.addEventListener("change", () => {
            if (box.checked) whatIf.drop.delete(code);
            else whatIf.drop.add(code);
            scheduleWhatIf();
          });
          return h("div", { class: "check" }, box, h("label", { for: box.id }, `${nameOf("states", code)} (${code})`));
        }),
      ),
      h(
        "div",
        { class: "row" },
        h("label", { for: "wi-add-state" }, t("whatif_add_state")),
        addInput,
        h("button", { type: "button", class: "secondary", onclick: addState }, t("field_states_add")),
      ),
    ),
    h(
      "fieldset",
      { class: "checks" },
      h("legend", {}, t("whatif_attributes")),
      h(
        "div",
        { class: "check-grid" },
        catalog.attributes.map((e) => {
          const now = (d.attributes || {})[e.id] === true;
          const on = e.id in whatIf.attrs ? whatIf.attrs[e.id] : now;
          const box = h("input", { type: "checkbox", id: `wi-attr-${e.id}`, checked: on });
          box.addEventListener("change", () => {
            if (box.checked === now) delete whatIf.attrs[e.id];
            else whatIf.attrs[e.id] = box.checked;
            scheduleWhatIf();
          });
          return h("div", { class: "check" }, box, h("label", { for: box.id }, e.id.replace(/_/g, " ")));
        }),
      ),
    ),
    h(
      "div",
      { class: "row" },
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            resetWhatIf();
            renderWhatIf();
            scheduleWhatIf();
            $("wi-type").focus();
          },
        },
        t("whatif_reset"),
      ),
      h(
        "button",
        {
          type: "button",
          id: "wi-apply",
          class: "secondary",
          onclick: () => {
            const d2 = modified();
            if (!d2) return;
            model = modelOf(d2);
            resetWhatIf();
            renderForm();
            changed();
            $("f-type").focus();
          },
        },
        t("whatif_apply"),
      ),
    ),
  );
  scheduleWhatIf();
}

/** The current descriptor with the what-if changes, or null when nothing is changed. */
function modified() {
  const d = currentDescriptor;
  if (!d) return null;
  const copy = JSON.parse(JSON.stringify(d));
  delete copy.injects;
  let changedAny = false;
  if (whatIf.type && whatIf.type !== d.type) {
    copy.type = whatIf.type;
    changedAny = true;
  }
  if (whatIf.region === "-" && d.region) {
    delete copy.region;
    changedAny = true;
  } else if (whatIf.region && whatIf.region !== "-" && whatIf.region !== d.region) {
    copy.region = whatIf.region;
    changedAny = true;
  }
  if (whatIf.severity && whatIf.severity !== d.severity) {
    copy.severity = whatIf.severity;
    changedAny = true;
  }
  const states = [...(d.states || []), ...whatIf.add].filter((s) => !whatIf.drop.has(s));
  if (whatIf.add.length || [...whatIf.drop].some((s) => (d.states || []).includes(s))) {
    copy.states = [...new Set(states)];
    changedAny = true;
  }
  if (Object.keys(whatIf.attrs).length) {
    copy.attributes = { ...(d.attributes || {}) };
    for (const [k, v] of Object.entries(whatIf.attrs)) {
      if (v) copy.attributes[k] = true;
      else delete copy.attributes[k];
    }
    changedAny = true;
  }
  return changedAny ? copy : null;
}

function scheduleWhatIf() {
  clearTimeout(whatIfTimer);
  whatIfTimer = setTimeout(runWhatIf, 250);
}

const DIFF_KINDS = [
  ["recommendations", (x) => String(x.number), (id) => nameOf("recommendations", id)],
  ["frameworks", (x) => x.id, (id) => nameOf("frameworks", id)],
  ["agencies", (x) => x.id, (id) => nameOf("agencies", id)],
  ["states", (x) => x.code, (id) => `${nameOf("states", id)} (${id})`],
  ["measures", (x) => x.id, (id) => id.replace(/_/g, " ")],
  ["caveats", (x) => x.id, (id) => id.replace(/_/g, " ")],
];

function deltaList(kind, added, removed, name) {
  const line = (word, ids, cls) =>
    ids.length
      ? h("li", { class: cls }, h("strong", {}, `${word}: `), ids.map(name).join("; "))
      : null;
  return h(
    "div",
    { class: "delta" },
    h("h4", {}, t(kind)),
    h("ul", {}, line(`+ ${t("added")}`, added, "added"), line(`− ${t("removed")}`, removed, "removed")),
  );
}

async function runWhatIf() {
  const out = $("whatif-result");
  const d2 = modified();
  const mine = ++whatIfSeq;
  if (!d2 || !current) {
    fill(out, h("p", { class: "empty" }, t("whatif_none")));
    return;
  }
  try {
    const b = await api.postJson("/v1/assess", { lang: LANG_PARAM }, d2);
    if (mine !== whatIfSeq) return;
    const parts = [];
    for (const [kind, key, name] of DIFF_KINDS) {
      const before = new Set(current[kind].map(key));
      const after = new Set(b[kind].map(key));
      const added = [...after].filter((x) => !before.has(x));
      const removed = [...before].filter((x) => !after.has(x));
      if (added.length || removed.length) parts.push(deltaList(kind, added, removed, name));
    }
    fill(
      out,
      h("h3", {}, t("whatif_changes")),
      parts.length ? parts : h("p", { class: "empty" }, t("whatif_same")),
    );
  } catch (exc) {
    if (mine !== whatIfSeq) return;
    fill(out, h("p", { class: "error" }, exc.message));
  }
}

async function suggestions() {
  const out = $("suggestions");
  if (!currentDescriptor) {
    fill(out, h("p", { class: "error" }, t("assessment_empty")));
    return;
  }
  fill(out, h("p", { class: "status" }, t("explain_loading")));
  try {
    const data = await api.postJson("/v1/explain", { what_if: "true" }, currentDescriptor);
    const rows = data.what_if || [];
    fill(
      out,
      h("h3", {}, t("suggestions"), ` (${rows.length})`),
      rows.length
        ? h(
            "ul",
            { class: "suggestions" },
            rows.map((row) =>
              h(
                "li",
                {},
                h("strong", {}, row.if),
                h(
                  "ul",
                  {},
                  Object.entries(row.changes || {}).map(([kind, ch]) =>
                    h(
                      "li",
                      {},
                      `${t(kind)}: `,
                      (ch.added || []).length ? `+ ${ch.added.join(", ")} ` : "",
                      (ch.removed || []).length ? `− ${ch.removed.join(", ")}` : "",
                    ),
                  ),
                ),
              ),
            ),
          )
        : h("p", {}, t("suggestions_none")),
    );
  } catch (exc) {
    fill(out, h("p", { class: "error" }, exc.message));
  }
}

// --- stages of a scenario ------------------------------------------------------------------------------

function renderStages(a) {
  const sec = $("stages");
  if (!a || !a.stages || !a.stages.length) {
    sec.hidden = true;
    fill($("stages-body"));
    return;
  }
  sec.hidden = false;
  const counts = (x) =>
    `${t("recommendations")} ${x.recommendations.length} · ${t("frameworks")} ${x.frameworks.length} · ${t("agencies")} ${x.agencies.length}`;
  const kinds = Object.fromEntries(DIFF_KINDS.map(([k, , name]) => [k, name]));
  const describe = (v) =>
    Array.isArray(v)
      ? v.join(", ")
      : v && typeof v === "object"
        ? Object.entries(v)
            .map(([k, on]) => (on ? k : `-${k}`))
            .join(", ")
        : String(v);
  fill(
    $("stages-body"),
    h(
      "ol",
      { class: "stages", start: 0 },
      h("li", {}, h("h3", {}, t("stage_start")), h("p", {}, counts(a))),
      a.stages.map((s) =>
        h(
          "li",
          {},
          h("h3", {}, `${t("stage_n", { n: s.stage })}: ${s.title}`),
          h(
            "p",
            { class: "meta" },
            [s.time, s.delivery, s.from && `${t("inject_from")}: ${s.from}`, s.to && `${t("inject_to")}: ${s.to}`]
              .filter(Boolean)
              .join(" · "),
          ),
          s.description ? h("p", {}, s.description) : null,
          h(
            "p",
            {},
            h("strong", {}, `${t("stage_changes")}: `),
            Object.entries(s.changes || {})
              .map(([k, v]) => `${k} = ${describe(v)}`)
              .join("; ") || t("none"),
          ),
          h("p", {}, counts(s.assessment)),
          h("h4", {}, t("stage_delta")),
          Object.keys(s.delta || {}).length
            ? Object.entries(s.delta).map(([kind, ch]) =>
                deltaList(kind, (ch.added || []).map(String), (ch.removed || []).map(String), kinds[kind] || String),
              )
            : h("p", { class: "empty" }, t("stage_no_delta")),
        ),
      ),
    ),
  );
}

// --- documents and the network picture -------------------------------------------------------------

function save(blob, name) {
  const href = URL.createObjectURL(blob);
  const a = h("a", { href, download: name, class: "hidden-link" });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 30000);
  fill($("download-status"), t("downloaded", { name }));
}

async function download(path, params) {
  const d = build();
  const out = $("download-status");
  if (!d.type) {
    fill(out, h("span", { class: "error" }, t("fix_needed", { message: t("required") })));
    return;
  }
  try {
    const { blob, name } = await api.postFile(path, { ...params, lang: LANG_PARAM }, d);
    save(blob, name);
  } catch (exc) {
    fill(out, h("span", { class: "error" }, t("fix_needed", { message: exc.message })));
  }
}

let graphUrl = null;

async function drawGraph() {
  const d = build();
  const out = $("download-status");
  if (!d.type) {
    fill(out, h("span", { class: "error" }, t("fix_needed", { message: t("required") })));
    return;
  }
  try {
    const { blob } = await api.postFile("/v1/graph", { format: "svg", lang: LANG_PARAM }, d);
    if (graphUrl) URL.revokeObjectURL(graphUrl);
    graphUrl = URL.createObjectURL(new Blob([blob], { type: "image/svg+xml" }));
    const img = $("graph-img");
    img.alt = `${t("network_alt")}: ${d.title || d.id}`;
    img.src = graphUrl;
    $("graph-figure").hidden = false;
  } catch (exc) {
    fill(out, h("span", { class: "error" }, t("fix_needed", { message: exc.message })));
  }
}

// --- the page ------------------------------------------------------------------------------------------

function applyI18n() {
  document.documentElement.lang = LANG;
  document.title = t("app_title");
  $("tools").setAttribute("aria-label", t("settings"));
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const link = $("language");
  const other = t("language_other_code");
  const q = new URLSearchParams(location.search);
  if (other === "en") q.delete("lang");
  else q.set("lang", other);
  const qs = q.toString();
  link.href = qs ? `?${qs}` : location.pathname;
  link.lang = other;
  link.hreflang = other;
}

function projector(on) {
  document.documentElement.classList.toggle("projector", on);
  $("projector").setAttribute("aria-pressed", on ? "true" : "false");
  try {
    localStorage.setItem("advisor-projector", on ? "1" : "");
  } catch {
    // storage may be off: the toggle still works for this page
  }
}

function askToken(exc) {
  const sec = $("token");
  sec.hidden = false;
  if (exc && exc.problems && exc.problems.length && sessionStorage.getItem("advisor-token")) {
    fill($("token-error"), t("token_wrong", { message: exc.problems[0].message }));
  }
  $("token-input").focus();
}

let ready = false;

async function loadVocabularies() {
  const [schemaData, ...lists] = await Promise.all([
    api.getJson("/v1/schema/descriptor"),
    ...KINDS.map((kind) => api.getJson(`/v1/catalog/${kind}`, { lang: LANG_PARAM })),
  ]);
  schema = schemaData;
  KINDS.forEach((kind, i) => (catalog[kind] = lists[i]));
  enums = { actor: schema.properties.actor.enum, severity: schema.properties.severity.enum };
  buildAliases();
}

async function start() {
  try {
    await loadVocabularies();
  } catch (exc) {
    if (exc.status !== 401) fill($("loading"), t("network_error", { message: exc.message }));
    return;
  }
  ready = true;
  $("loading").hidden = true;
  renderForm();
  changed();
  try {
    const health = await fetch("/healthz").then((r) => r.json());
    fill($("version"), `advisor ${health.version} · rule base ${health.rulebase} · ${health.rules} rules`);
  } catch {
    // the footer is a courtesy
  }
}

function openFile(file) {
  const reader = new FileReader();
  reader.onload = () => {
    try {
      const data = JSON.parse(String(reader.result));
      if (!data || typeof data !== "object" || Array.isArray(data)) throw new Error("not a JSON object");
      model = modelOf(data);
      resetWhatIf();
      renderForm();
      changed();
      fill($("json-status"), t("json_opened", { name: file.name }));
    } catch (exc) {
      fill($("json-status"), h("span", { class: "error" }, t("json_bad", { name: file.name, message: exc.message })));
    }
  };
  reader.readAsText(file);
}

async function main() {
  try {
    T = (await (await fetch("/workbench/i18n.json")).json())[LANG];
  } catch {
    T = {};
  }
  applyI18n();
  let stored = "";
  try {
    stored = localStorage.getItem("advisor-projector") || "";
  } catch {
    stored = "";
  }
  projector(Boolean(stored));
  $("projector").addEventListener("click", () =>
    projector($("projector").getAttribute("aria-pressed") !== "true"),
  );
  api.whenUnauthorised(askToken);
  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    api.setToken($("token-input").value.trim());
    fill($("token-error"));
    $("token").hidden = true;
    if (ready) assess();
    else start();
  });
  $("form").addEventListener("submit", (ev) => ev.preventDefault());
  $("explanation-close").addEventListener("click", closeExplanation);
  $("explanation").addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") closeExplanation();
  });
  $("json-download").addEventListener("click", () => {
    const d = build();
    save(new Blob([JSON.stringify(d, null, 2) + "\n"], { type: "application/json" }), `${d.id}.json`);
  });
  $("json-open").addEventListener("change", (ev) => {
    const file = ev.target.files && ev.target.files[0];
    if (file) openFile(file);
    ev.target.value = "";
  });
  $("suggestions-get").addEventListener("click", suggestions);
  $("graph-draw").addEventListener("click", drawGraph);
  $("graph-download").addEventListener("click", () =>
    download("/v1/graph", { format: $("graph-format").value }),
  );
  $("brief-download").addEventListener("click", () => {
    const kind = $("brief-kind").value;
    download("/v1/brief", {
      format: $("brief-format").value,
      facilitator: kind === "facilitator" ? "true" : undefined,
      handout: kind === "handout" ? "true" : undefined,
    });
  });
  $("msel-download").addEventListener("click", () => download("/v1/msel", { format: $("msel-format").value }));
  await start();
}

main();
