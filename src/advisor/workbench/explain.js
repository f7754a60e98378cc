// Why and why not, as the API's /v1/explain answers them: trees of rules, each with its citations,
// its `because`, the quoted source and what it needed (why), or the conditions that failed (why not).

import { h } from "./dom.js";

/** A condition of a rule, as compact text: `region: east_asia; unless: does not hold`. */
function conditionText(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(conditionText).join(", ");
  if (typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => (k === "any" ? `any of (${v.map(conditionText).join(") or (")})` : `${k}: ${conditionText(v)}`))
      .join("; ");
  }
  return String(value);
}

function citations(list, t) {
  return (list || []).map((c) => t("rec_n", { n: c })).join(", ");
}

function ruleHead(node, t, extra) {
  return h(
    "p",
    { class: "rule-head" },
    h("span", { class: "label" }, `${t("rule")}: `),
    h("code", { class: "rule-id" }, node.rule),
    node.step !== undefined ? ` · ${t("step", { n: node.step })}` : "",
    node.basis ? ` · ${t("basis")}: ${t(`basis_${node.basis}`)}` : "",
    " · ",
    h("span", { class: "citations" }, `${t("citations")}: ${citations(node.citations, t)}`),
    extra || "",
  );
}

function whyNode(node, t, depth) {
  const li = h("li", { class: "rule-node" }, ruleHead(node, t));
  if (node.repeated) {
    li.append(h("p", { class: "meta" }, t("repeated")));
    return li;
  }
  if (node.because) li.append(h("p", {}, h("strong", {}, `${t("because")}: `), node.because));
  if (node.quote) {
    li.append(
      h(
        "figure",
        { class: "quote" },
        h("figcaption", {}, `${t("quote")} (${citations(node.citations, t)}):`),
        h("blockquote", {}, `“${node.quote}”`),
      ),
    );
  }
  if (node.note) li.append(h("p", {}, h("strong", {}, `${t("note")}: `), node.note));
  const matched = conditionText(node.descriptor);
  if (matched) li.append(h("p", {}, h("strong", {}, `${t("matched")}: `), matched));
  if (node.needs && node.needs.length) {
    const needs = h(
      "ul",
      { class: "needs" },
      node.needs.map((need) =>
        h(
          "li",
          {},
          h("p", {}, h("strong", {}, `${t("needs")}: `), need.what, ` — ${t("given_by")}:`),
          h(
            "ul",
            { class: "rules" },
            need.given_by.map((g) => whyNode(g, t, depth + 1)),
          ),
        ),
      ),
    );
    if (depth >= 1) {
      li.append(h("details", {}, h("summary", {}, `${t("needs")} (${node.needs.length})`), needs));
    } else {
      li.append(needs);
    }
  }
  return li;
}

/** The answer of `?why=X`. */
export function renderWhy(data, t) {
  if (!data) return h("p", {}, t("none"));
  if (!data.present || !data.rules.length) return h("p", {}, t("not_present"));
  return h(
    "ol",
    { class: "rules why" },
    data.rules.map((node) => whyNode(node, t, 0)),
  );
}

function missNode(miss, t, depth) {
  const li = h("li", { class: "rule-node" }, ruleHead(miss, t, ` · ${t("failed_n", { n: miss.failed })}`));
  li.append(
    h(
      "ul",
      { class: "conditions" },
      miss.conditions.map((c) => {
        const item = h(
          "li",
          { class: c.holds ? "holds" : "fails" },
          h("span", { class: "verdict" }, c.holds ? `✓ ${t("holds")}` : `✗ ${t("fails")}`),
          " ",
          c.condition,
          c.now ? h("span", { class: "now" }, ` (${t("now")}: ${c.now})`) : "",
        );
        if (c.would_need_one_of && c.would_need_one_of.length) {
          const inner = h(
            "ul",
            { class: "rules" },
            c.would_need_one_of.map((m) => missNode(m, t, depth + 1)),
          );
          item.append(
            depth >= 1
              ? h("details", {}, h("summary", {}, `${t("would_need")} (${c.would_need_one_of.length})`), inner)
              : h("div", {}, h("p", { class: "meta" }, `${t("would_need")}:`), inner),
          );
        }
        return item;
      }),
    ),
  );
  return li;
}

/** The answer of `?why_not=X`. */
export function renderWhyNot(data, t) {
  if (!data) return h("p", {}, t("none"));
  const out = [];
  if (data.present) out.push(h("p", {}, t("present_already")));
  if (!data.could_conclude.length) {
    if (!data.present) out.push(h("p", {}, t("no_rule")));
    return h("div", {}, out);
  }
  out.push(
    h("h4", {}, t("could_conclude")),
    h(
      "ol",
      { class: "rules why-not" },
      data.could_conclude.map((m) => missNode(m, t, 0)),
    ),
  );
  return h("div", {}, out);
}
