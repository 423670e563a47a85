import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { type Document, isCollection, isMap, isScalar, LineCounter, parseDocument } from "yaml";
import { NetwardenError } from "../core/index.js";
import type { Path } from "./paths.js";

/** Reads a config file, turning a missing or unreadable file into NW_CONFIG_NOT_FOUND. */
export async function readConfigFile(
  file: string,
  what: string,
  hint: string,
): Promise<{ path: string; text: string }> {
  const path = resolve(file);
  try {
    return { path, text: await readFile(path, "utf8") };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new NetwardenError(
      "NW_CONFIG_NOT_FOUND",
      code === "ENOENT"
        ? `${what} \`${file}\` does not exist`
        : `${what} \`${file}\` cannot be read (${code})`,
      { hint },
    );
  }
}

export interface YamlFile {
  doc: Document;
  /** "file:line:col" of the value at `path`, or of `key` inside it, or of the nearest enclosing node. */
  locate(path: Path, key?: string): string;
}

/** Parses YAML (duplicate keys are errors); a syntax error is NW_CONFIG_YAML at its line and column. */
export function parseYaml(text: string, label: string): YamlFile {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const pos = lc.linePos(err.pos[0]);
    const first = err.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new NetwardenError("NW_CONFIG_YAML", `the file is not valid YAML: ${first}`, {
      where: `${label}:${pos.line}:${pos.col}`,
      hint: "Fix the YAML syntax there (indentation, a missing ':' or an unclosed quote are the usual causes)",
    });
  }
  return { doc, locate: (path, key) => `${label}:${positionOf(doc, lc, path, key)}` };
}

function positionOf(doc: Document, lc: LineCounter, path: Path, keyOf?: string): string {
  // Walk down as far as the path exists, so a missing key points at its parent mapping.
  let node: unknown = doc.contents;
  for (const seg of path) {
    const next = isCollection(node) ? node.get(seg, true) : undefined;
    if (next === undefined || next === null) break;
    node = next;
  }
  // A key the schema does not know: point at the key itself.
  if (keyOf !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === keyOf);
    if (pair && isScalar(pair.key) && pair.key.range) node = pair.key;
  }
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (!range) return "1:1";
  const pos = lc.linePos(range[0]);
  return `${pos.line}:${pos.col}`;
}
