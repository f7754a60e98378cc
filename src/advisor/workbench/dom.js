// Small DOM helpers: every piece of user or server text goes in as a text node, never as HTML.

/** Create an element: h("p", {class: "x", onclick: f}, "text", child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "checked" || key === "selected" || key === "value" || key === "disabled") el[key] = value;
    else if (key === "hidden") el.hidden = Boolean(value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Fold what a person types into the form of a canonical id (as advisor's catalog.fold). */
export function fold(text) {
  const out = String(text).trim().toLowerCase().replace(/[\s-]+/g, "_");
  return out.startsWith("the_") ? out.slice(4) : out;
}

/** Levenshtein distance, for client-side "did you mean". */
function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const keep = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = keep;
    }
  }
  return row[b.length];
}

/** The ids whose names (in `table`: folded name -> id) are nearest to `text`, best first. */
export function nearestIds(text, table, n = 3) {
  const key = fold(text);
  const scored = [];
  for (const [name, id] of table) {
    let d = distance(key, name) / Math.max(key.length, name.length, 1);
    if (name.startsWith(key) || key.startsWith(name)) d -= 0.25;
    scored.push([d, id]);
  }
  scored.sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [d, id] of scored) {
    if (d > 0.6) break;
    if (!out.includes(id)) out.push(id);
    if (out.length >= n) break;
  }
  return out;
}

let uid = 0;
/** A fresh id for an element. */
export function newId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}
