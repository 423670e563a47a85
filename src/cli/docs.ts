import { CODES, EXIT_CODES, HTTP_STATUS } from "../core/index.js";
import { describeParam, learnerKinds, learnerSummary, paramSpecs } from "../ml/index.js";

/** Markdown tables generated from the code, so the README cannot drift from it. */
export function learnersMarkdown(): string {
  const parts: string[] = [];
  for (const kind of learnerKinds()) {
    parts.push(
      `#### \`${kind}\``,
      "",
      learnerSummary(kind),
      "",
      "| param | default | accepts | meaning |",
      "| --- | --- | --- | --- |",
    );
    for (const [name, s] of Object.entries(paramSpecs(kind))) {
      parts.push(
        `| \`${name}\` | \`${JSON.stringify(s.default)}\` | ${cell(describeParam(s))} | ${cell(s.doc)} |`,
      );
    }
    parts.push("");
  }
  return parts.join("\n").trimEnd();
}

export function errorsMarkdown(): string {
  const rows = ["| code | exit | HTTP | meaning |", "| --- | ---: | ---: | --- |"];
  for (const [code, info] of Object.entries(CODES)) {
    const http = (info as { http?: number }).http ?? HTTP_STATUS[info.category];
    rows.push(`| \`${code}\` | ${EXIT_CODES[info.category]} | ${http} | ${cell(info.summary)} |`);
  }
  return rows.join("\n");
}

function cell(s: string): string {
  return s.replace(/\|/g, "\\|");
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function fillSection(text: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`README has no ${name} section markers`);
  return `${text.slice(0, i + start.length)}\n${body}\n${text.slice(j)}`;
}

export function generatedReadme(text: string): string {
  return fillSection(fillSection(text, "learners", learnersMarkdown()), "errors", errorsMarkdown());
}
