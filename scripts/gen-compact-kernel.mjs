// Writes src/ml/tree/compact-kernel.wat: its walks are unrolled eight lanes wide (eight independent
// chains of loads), which is too repetitive to keep by hand. Run `node scripts/gen-compact-kernel.mjs`
// after editing, then `npm run wasm`.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const LANES = "abcdefgh".split("");
/**
 * Lanes of the single-row walk: trees walked side by side (their chains of loads overlap; four
 * already keep the core busy, sixteen spill registers). ROW_LANES in compact-kernel.ts.
 */
const ROW_LANES = Array.from({ length: 8 }, (_, i) => `r${i}`);
const get = (v) => `(local.get $${v})`;
const set = (v, e) => `(local.set $${v} ${e})`;
const i32 = (n) => `(i32.const ${n})`;
const op = (o, ...a) => `(i32.${o} ${a.join(" ")})`;
const lines = (ind, xs) => xs.map((x) => " ".repeat(ind) + x).join("\n");

/** Rows whose codes are interleaved (a group): row r's code of slot s at (r >> 4) · 32U + s · 16 + (r & 15). */
const G = 16;

/** Levels of the top block walked for sixteen rows at once (SIMD) when a tree is that deep. */
const SIMD_LEVELS = 5;
const splatBytes = (n) => `(v128.const i8x16 ${Array(16).fill(n).join(" ")})`;

/**
 * The first SIMD_LEVELS levels for the sixteen rows of a group (codes at cg, slot s at cg + 16s):
 * lane i of `idx` is row i's node in its level (0 .. 2^level − 1). At node n (heap index h) of a
 * level, code − rank (saturated) is not 0 where a row goes right, kept in the rows at n.
 */
function simdTop() {
  const out = [set("idx", splatBytes(0))];
  for (let level = 0; level < SIMD_LEVELS; level++) {
    out.push(set("acc", splatBytes(0)));
    for (let n = 0; n < 2 ** level; n++) {
      const h = 2 ** level + n;
      out.push(set("w", `(i32.load offset=${4 * h} ${get("tb")})`));
      const right = `(i8x16.sub_sat_u (v128.load ${op("add", get("cg"), op("shr_u", get("w"), i32(8)))}) (i8x16.splat ${get("w")}))`;
      const mine = level === 0 ? right : `(v128.and ${right} (i8x16.eq ${get("idx")} ${splatBytes(n)}))`;
      out.push(set("acc", `(v128.or ${get("acc")} ${mine})`));
    }
    out.push(
      set(
        "idx",
        `(i8x16.add (i8x16.add ${get("idx")} ${get("idx")}) (i8x16.min_u ${get("acc")} ${splatBytes(1)}))`,
      ),
    );
  }
  return out;
}

/**
 * After the top walk: lane l's top leaf j = l − 2^p1, its subtree's byte address, and l = 1 for
 * the subtree walk (no steps when the walk ends in the top block).
 */
function toSubtree(l, tb) {
  return [
    set(`j${l}`, op("sub", get(l), get("top"))),
    set(`u${l}`, op("add", op("add", get(tb), get("subOff")), op("shl", get(`j${l}`), get("subShift")))),
    set(l, i32(1)),
  ];
}

/** Leaf index of lane l: ((j << p2) + l − 2^p2) << shift. */
const leafOf = (l) =>
  op("shl", op("sub", op("add", op("shl", get(`j${l}`), get("p2")), get(l)), get("bot")), get("shift"));

/** out[at] += values[vt + leaf · 8] */
const addLeaf = (at, vt, l) => [
  set("p", at),
  `(f64.store ${get("p")} (f64.add (f64.load ${get("p")}) (f64.load ${op("add", get(vt), op("shl", leafOf(l), i32(3)))})))`,
];

/** Locals of the single-row perfect walk (`row`), and the layout constants from D. */
const common = [
  "(local $n i32) (local $w i32) (local $x i32) (local $l2 i32) (local $p i32)",
  "(local $P i32) (local $sub i32) (local $TW i32) (local $subOff i32) (local $subShift i32)",
  "(local $p1 i32) (local $p2 i32) (local $top i32) (local $bot i32) (local $shift i32)",
];
const layout = [
  ";; top block: levels 0 .. P−1 (P = min(D, 5)) in 2^P words; then 2^P subtrees of depth D − P",
  set("P", `(select ${get("D")} ${i32(5)} ${op("lt_u", get("D"), i32(5))})`),
  set("sub", op("sub", get("D"), get("P"))),
  set(
    "TW",
    `(select ${op("add", op("shl", i32(1), get("P")), op("shl", i32(1), get("D")))} ${op("shl", i32(1), get("D"))} ${get("sub")})`,
  ),
  set("subOff", op("shl", i32(1), op("add", get("P"), i32(1)))),
  set("subShift", op("add", get("sub"), i32(1))),
];
/** Phase lengths for a walk of `m` (a local) steps. */
const phases = (m) => [
  set("p1", `(select ${get(m)} ${get("P")} ${op("lt_u", get(m), get("P"))})`),
  set("p2", op("sub", get(m), get("p1"))),
  set("top", op("shl", i32(1), get("p1"))),
  set("bot", op("shl", i32(1), get("p2"))),
  set("shift", op("sub", get("D"), get(m))),
];

/**
 * One step of lane `l` of a batch walk in the heap-ordered words of a tree at tb (a word: slot ·
 * 16 · 256 + rank, an int32): w = word l, x = the row's code of its slot (codes at cg: slot · 16 +
 * lane), then l = 2l + (x > rank), the compare as the sign of rank − x (both bytes).
 */
function heapStep(l, lane) {
  return [
    set("w", `(i32.load ${op("add", get("tb"), op("shl", get(l), i32(2)))})`),
    set("x", `(i32.load8_u offset=${lane} ${op("add", get("cg"), op("shr_u", get("w"), i32(8)))})`),
    set(
      l,
      op(
        "add",
        op("shl", get(l), i32(1)),
        op("shr_u", op("sub", op("and", get("w"), i32(255)), get("x")), i32(31)),
      ),
    ),
  ];
}

/** `count` (a local) heap steps of the lanes: four unrolled when that is all (depth 8), else a loop. */
function heapSteps(name, count, lanes) {
  const body = lanes.flatMap(([l, lane]) => heapStep(l, lane));
  return [
    `(if ${op("eq", get(count), i32(4))}`,
    "  (then",
    ...[0, 1, 2, 3].flatMap(() => body).map((x) => `    ${x}`),
    "  )",
    "  (else",
    `  ${set("n", get(count))}`,
    `  (block $${name}_done`,
    `    (loop $${name}`,
    `      (br_if $${name}_done (i32.eqz ${get("n")}))`,
    ...body.map((x) => `      ${x}`),
    `      ${set("n", op("sub", get("n"), i32(1)))}`,
    `      (br $${name})))`,
    "  ))",
  ];
}

/**
 * out[at] += values[vt + leaf · 8], leaf = (l − 2^td) << (D − td) (the left-most leaf below);
 * shift = D − td + 3.
 */
const addHeapLeaf = (at, l) => [
  set("p", at),
  `(f64.store ${get("p")} (f64.add (f64.load ${get("p")}) (f64.load ${op("add", get("vt"), op("shl", op("sub", get(l), get("top")), get("shift")))})))`,
];

function blockFunc() {
  // Eight rows of the group side by side (lanes a .. h are rows 8·half .. 8·half + 7): from their
  // nodes after the SIMD levels down to the leaf.
  const half = (hf) => [
    ...LANES.map((l, i) =>
      set(l, op("add", get("lb"), `(i8x16.extract_lane_u ${8 * hf + i} ${get("idx")})`)),
    ),
    ...heapSteps(
      `steps${hf}`,
      "m",
      LANES.map((l, i) => [l, 8 * hf + i]),
    ),
    ...LANES.flatMap((l, i) =>
      addHeapLeaf(op("add", get("ko"), op("shl", op("add", get("r"), i32(8 * hf + i)), i32(3))), l),
    ),
  ];
  return [
    ";; Tree by tree over B coded rows (groups of sixteen rows, groupBytes each): the top levels of",
    ";; a group's sixteen rows at once (SIMD), then eight rows side by side. A tree's words are",
    ";; int32s in heap order (2^D a tree; see heapStep in the generator). Sums start at base (K f64)",
    ";; and are kept class by class (class k of row r at out + k · ostride + r · 8: a tree adds to",
    ";; one class, so its writes stay on few cache lines); each tree's leaf value is added in tree",
    ";; order; at the end they are copied row by row to rows.",
    '(func (export "block")',
    "  (param $words i32) (param $values i32) (param $treeOut i32) (param $depths i32) (param $nTrees i32) (param $D i32)",
    "  (param $codes i32) (param $groupBytes i32) (param $B i32) (param $out i32) (param $ostride i32)",
    "  (param $base i32) (param $K i32) (param $rows i32)",
    "  (local $t i32) (local $tb i32) (local $vt i32) (local $ko i32) (local $r i32) (local $td i32) (local $cg i32)",
    "  (local $k i32) (local $m i32) (local $lb i32) (local $idx v128) (local $acc v128)",
    "  (local $n i32) (local $w i32) (local $x i32) (local $l2 i32) (local $p i32) (local $top i32) (local $shift i32)",
    `  ${LANES.map((l) => `(local $${l} i32)`).join(" ")}`,
    lines(2, [
      ...classRows(
        "init",
        `(f64.store ${get("p")} (f64.load ${op("add", get("base"), op("shl", get("k"), i32(3)))}))`,
      ),
      set("t", i32(0)),
      "(block $trees_done",
      "  (loop $trees",
      `    (br_if $trees_done ${op("ge_u", get("t"), get("nTrees"))})`,
      `    ${set("tb", op("add", get("words"), op("shl", get("t"), op("add", get("D"), i32(2)))))}`,
      `    ${set("vt", op("add", get("values"), op("shl", get("t"), op("add", get("D"), i32(3)))))}`,
      `    ${set("ko", op("add", get("out"), op("mul", `(i32.load ${op("add", get("treeOut"), op("shl", get("t"), i32(2)))})`, get("ostride"))))}`,
      "    ;; this tree's own depth: below it every word passes left",
      `    ${set("td", `(i32.load8_u ${op("add", get("depths"), get("t"))})`)}`,
      `    ${set("top", op("shl", i32(1), get("td")))}`,
      `    ${set("shift", op("add", op("sub", get("D"), get("td")), i32(3)))}`,
      `    ${set("r", i32(0))}`,
      `    ${set("cg", get("codes"))}`,
      "    (block $groups_done",
      "      (loop $groups",
      `        (br_if $groups_done ${op("gt_u", op("add", get("r"), i32(G)), get("B"))})`,
      `        (if ${op("ge_u", get("td"), i32(SIMD_LEVELS))}`,
      "          (then",
      lines(12, simdTop()),
      `            ${set("m", op("sub", get("td"), i32(SIMD_LEVELS)))}`,
      `            ${set("lb", i32(2 ** SIMD_LEVELS))})`,
      "          (else",
      `            ${set("idx", splatBytes(0))}`,
      `            ${set("m", get("td"))}`,
      `            ${set("lb", i32(1))}))`,
      lines(8, half(0)),
      lines(8, half(1)),
      `        ${set("r", op("add", get("r"), i32(G)))}`,
      `        ${set("cg", op("add", get("cg"), get("groupBytes")))}`,
      "        (br $groups)))",
      "    ;; the last rows (of the last group), one at a time",
      "    (block $rest_done",
      "      (loop $rest",
      `        (br_if $rest_done ${op("ge_u", get("r"), get("B"))})`,
      `        ${set("a", i32(1))}`,
      `        ${set("m", get("td"))}`,
      `        ${set("cg", op("add", get("cg"), op("and", get("r"), i32(G - 1))))}`,
      lines(8, heapSteps("steps1", "m", [["a", 0]])),
      `        ${set("cg", op("sub", get("cg"), op("and", get("r"), i32(G - 1))))}`,
      lines(8, addHeapLeaf(op("add", get("ko"), op("shl", get("r"), i32(3))), "a")),
      `        ${set("r", op("add", get("r"), i32(1)))}`,
      "        (br $rest)))",
      `    ${set("t", op("add", get("t"), i32(1)))}`,
      "    (br $trees)))",
      ...classRows(
        "copy",
        `(f64.store ${op("add", get("rows"), op("shl", op("add", op("mul", get("r"), get("K")), get("k")), i32(3)))} (f64.load ${get("p")}))`,
      ),
    ]),
    ")",
  ].join("\n");
}

/** For every class k and row r < B, with p = out + k · ostride + r · 8: `body`. */
function classRows(name, body) {
  return [
    set("k", i32(0)),
    `(block $${name}_k_done`,
    `  (loop $${name}_k`,
    `    (br_if $${name}_k_done ${op("ge_u", get("k"), get("K"))})`,
    `    ${set("r", i32(0))}`,
    `    (block $${name}_r_done`,
    `      (loop $${name}_r`,
    `        (br_if $${name}_r_done ${op("ge_u", get("r"), get("B"))})`,
    `        ${set("p", op("add", op("add", get("out"), op("mul", get("k"), get("ostride"))), op("shl", get("r"), i32(3))))}`,
    `        ${body}`,
    `        ${set("r", op("add", get("r"), i32(1)))}`,
    `        (br $${name}_r)))`,
    `    ${set("k", op("add", get("k"), i32(1)))}`,
    `    (br $${name}_k)))`,
  ];
}

function rowFunc() {
  const laneLocals = ROW_LANES.map(
    (l) => `(local $${l} i32) (local $t${l} i32) (local $j${l} i32) (local $u${l} i32)`,
  );
  const treeBase = (i) =>
    op("add", get("words"), op("shl", op("mul", op("add", get("t"), i32(i)), get("TW")), i32(1)));
  const valueBase = (i) =>
    op("add", get("values"), op("shl", op("add", get("t"), i32(i)), op("add", get("D"), i32(3))));
  const outAt = (i) =>
    op(
      "add",
      get("out"),
      op(
        "shl",
        `(i32.load ${op("add", get("treeOut"), op("shl", op("add", get("t"), i32(i)), i32(2)))})`,
        i32(3),
      ),
    );
  // A step in a table walk: w = the word (the row's table index of its slot and rank); T[w] is −1
  // (right) or 0 (left): l = 2l − T[w].
  const tstep = (l, base) => [
    set("l2", op("shl", get(l), i32(1))),
    set(l, op("sub", get("l2"), `(i32.load8_s (i32.load16_u ${op("add", get(base), get("l2"))}))`)),
  ];
  const tloop = (name, count, lanes) => [
    set("n", get(count)),
    `(block $${name}_done`,
    `  (loop $${name}`,
    `    (br_if $${name}_done (i32.eqz ${get("n")}))`,
    ...lanes.flatMap(([l, base]) => tstep(l, base)).map((x) => `    ${x}`),
    `    ${set("n", op("sub", get("n"), i32(1)))}`,
    `    (br $${name})))`,
  ];
  const ttop = (name, lanes) => [
    `(if ${op("eq", get("p1"), i32(5))}`,
    "  (then",
    ...[0, 1, 2, 3, 4].flatMap(() => lanes.flatMap(([l, base]) => tstep(l, base))).map((x) => `    ${x}`),
    "  )",
    "  (else",
    ...tloop(name, "p1", lanes).map((x) => `    ${x}`),
    "  ))",
  ];
  return [
    ";; One row through the trees, by its table (see `table`: the byte at address w says whether",
    ";; the row goes right at the word w, so a step is two loads and two adds), eight trees side by",
    ";; side, each walking as deep as the deepest of the eight (groupDepths, one byte per eight",
    ";; trees; below its own depth a tree's words pass left); leaf values added to out[output] in",
    ";; tree order.",
    '(func (export "row")',
    "  (param $words i32) (param $values i32) (param $treeOut i32) (param $depths i32) (param $nTrees i32) (param $D i32)",
    "  (param $out i32) (param $groupDepths i32)",
    "  (local $t i32) (local $m i32) (local $vt i32) (local $TWB i32) (local $VS i32) (local $gw i32) (local $gv i32) (local $gto i32)",
    ...common.map((x) => `  ${x}`),
    ...laneLocals.map((x) => `  ${x}`),
    lines(2, layout),
    lines(2, [
      set("TWB", op("shl", get("TW"), i32(1))),
      set("VS", op("shl", i32(1), op("add", get("D"), i32(3)))),
      set("gw", get("words")),
      set("gv", get("values")),
      set("gto", get("treeOut")),
      set("t", i32(0)),
      "(block $eights_done",
      "  (loop $eights",
      `    (br_if $eights_done ${op("gt_u", op("add", get("t"), i32(ROW_LANES.length)), get("nTrees"))})`,
      ...ROW_LANES.flatMap((l, i) => [
        set(`t${l}`, i === 0 ? get("gw") : op("add", get(`t${ROW_LANES[i - 1]}`), get("TWB"))),
        set(l, i32(1)),
      ]).map((x) => `    ${x}`),
      `    ${set("m", `(i32.load8_u ${op("add", get("groupDepths"), op("div_u", get("t"), i32(ROW_LANES.length)))})`)}`,
      ...phases("m").map((x) => `    ${x}`),
      lines(
        4,
        ttop(
          "top",
          ROW_LANES.map((l) => [l, `t${l}`]),
        ),
      ),
      lines(
        4,
        ROW_LANES.flatMap((l) => toSubtree(l, `t${l}`)),
      ),
      lines(
        4,
        tloop(
          "bottom",
          "p2",
          ROW_LANES.map((l) => [l, `u${l}`]),
        ),
      ),
      `    ${set("vt", get("gv"))}`,
      lines(
        4,
        ROW_LANES.flatMap((l, i) => [
          ...(i === 0 ? [] : [set("vt", op("add", get("vt"), get("VS")))]),
          ...addLeaf(
            op("add", get("out"), op("shl", `(i32.load offset=${4 * i} ${get("gto")})`, i32(3))),
            "vt",
            l,
          ),
        ]),
      ),
      `    ${set("t", op("add", get("t"), i32(ROW_LANES.length)))}`,
      `    ${set("gw", op("add", get(`t${ROW_LANES.at(-1)}`), get("TWB")))}`,
      `    ${set("gv", op("add", get("vt"), get("VS")))}`,
      `    ${set("gto", op("add", get("gto"), i32(4 * ROW_LANES.length)))}`,
      "    (br $eights)))",
      "(block $rest_done",
      "  (loop $rest",
      `    (br_if $rest_done ${op("ge_u", get("t"), get("nTrees"))})`,
      `    ${set("tr0", treeBase(0))}`,
      `    ${set("r0", i32(1))}`,
      `    ${set("m", `(i32.load8_u ${op("add", get("depths"), get("t"))})`)}`,
      ...phases("m").map((x) => `    ${x}`),
      lines(4, tloop("top1", "p1", [["r0", "tr0"]])),
      lines(4, toSubtree("r0", "tr0")),
      lines(4, tloop("bottom1", "p2", [["r0", "ur0"]])),
      `    ${set("vt", valueBase(0))}`,
      lines(4, addLeaf(outAt(0), "vt", "r0")),
      `    ${set("t", op("add", get("t"), i32(1)))}`,
      "    (br $rest))))",
    ]),
  ].join("\n");
}

/**
 * One row through trees in node form (deeper than perfect trees go), by its table: a node is one
 * i32, the offset to its left child (right = left + 1) · 65536 + its word (the row's table index
 * of its slot and rank); a leaf is 0, so a walk that has reached it stays. Eight trees side by
 * side, until all eight are at leaves.
 */
function nodeRowFunc() {
  const Q = ROW_LANES.map((_, i) => `q${i}`);
  const W = ROW_LANES.map((_, i) => `w${i}`);
  // n = node q (left-child offset · 65536 + table index); q = q + offset − T[index]. A leaf's
  // offset is 0 and its index points at a 0, so the walk stays there; it ends when no lane's node
  // has an offset.
  const step = (q, w) => [
    set(w, `(i32.load ${op("add", get("nodes"), op("shl", get(q), i32(2)))})`),
    set(
      q,
      op(
        "sub",
        op("add", get(q), op("shr_u", get(w), i32(16))),
        `(i32.load8_s ${op("and", get(w), i32(0xffff))})`,
      ),
    ),
  ];
  // A leaf (word w at node q): c = w − zb ≥ 0 is a pure leaf's code: ones[c >> 8] added to class
  // c & 255 (adding the zeros would change nothing: the caller makes sure no output is −0).
  // Otherwise la = leafAt[q]: la ≥ 0: W values at values + la (bytes), added to out[0 .. W)
  // (W > 1) or one added to out[treeOut[t]] (W = 1); la < 0: a pure leaf, c = −1 − la.
  const pure = [
    `${set("p", op("add", get("out"), op("shl", op("and", get("la"), i32(255)), i32(3))))}`,
    `(f64.store ${get("p")} (f64.add (f64.load ${get("p")}) (f64.load ${op("add", get("ones"), op("shl", op("shr_u", get("la"), i32(8)), i32(3)))})))`,
  ];
  const addLeaf = (q, w, tree) => [
    set("la", op("sub", op("and", get(w), i32(0xffff)), get("zb"))),
    `(if ${op("ge_s", get("la"), i32(0))}`,
    "  (then",
    ...pure.map((x) => `    ${x}`),
    "  )",
    "  (else",
    `  ${set("la", `(i32.load ${op("add", get("leafAt"), op("shl", get(q), i32(2)))})`)}`,
    `  (if ${op("lt_s", get("la"), i32(0))}`,
    "  (then",
    `    ${set("la", op("sub", i32(-1), get("la")))}`,
    ...pure.map((x) => `    ${x}`),
    "  )",
    `  (else (if ${op("eq", get("W"), i32(1))}`,
    "  (then",
    `    ${set("v", op("add", get("values"), get("la")))}`,
    `    ${set("p", op("add", get("out"), op("shl", `(i32.load ${op("add", get("treeOut"), op("shl", tree, i32(2)))})`, i32(3))))}`,
    `    (f64.store ${get("p")} (f64.add (f64.load ${get("p")}) (f64.load ${get("v")}))))`,
    "  (else",
    `    ${set("v", op("add", get("values"), get("la")))}`,
    `    ${set("k", i32(0))}`,
    "    (block $vec_done",
    "      (loop $vec",
    `        (br_if $vec_done ${op("ge_u", get("k"), get("W"))})`,
    `        ${set("p", op("add", get("out"), op("shl", get("k"), i32(3))))}`,
    `        (f64.store ${get("p")} (f64.add (f64.load ${get("p")}) (f64.load ${op("add", get("v"), op("shl", get("k"), i32(3)))})))`,
    `        ${set("k", op("add", get("k"), i32(1)))}`,
    "        (br $vec)))))))))",
  ];
  return [
    '(func (export "nodeRow")',
    "  (param $nodes i32) (param $roots i32) (param $leafAt i32) (param $values i32) (param $treeOut i32)",
    "  (param $nTrees i32) (param $W i32) (param $out i32) (param $ones i32) (param $zb i32) (param $idle i32)",
    "  (local $t i32) (local $p i32) (local $v i32) (local $k i32) (local $la i32)",
    `  ${Q.map((q) => `(local $${q} i32)`).join(" ")}`,
    `  ${W.map((w) => `(local $${w} i32)`).join(" ")}`,
    lines(2, [
      set("t", i32(0)),
      "(block $groups_done",
      "  (loop $groups",
      `    (br_if $groups_done ${op("ge_u", get("t"), get("nTrees"))})`,
      "    ;; lanes past the last tree walk the idle root (a leaf that adds +0, which changes nothing)",
      ...Q.map(
        (q, i) =>
          `    ${set(q, `(select (i32.load offset=${4 * i} ${op("add", get("roots"), op("shl", get("t"), i32(2)))}) ${get("idle")} ${op("lt_u", op("add", get("t"), i32(i)), get("nTrees"))})`)}`,
      ),
      "    (loop $steps",
      ...Q.flatMap((q, i) => step(q, W[i])).map((x) => `      ${x}`),
      `      (br_if $steps ${op(
        "ge_u",
        W.slice(1).reduce((acc, w) => op("or", acc, get(w)), get(W[0])),
        i32(65536),
      )}))`,
      ...Q.flatMap((q, i) => addLeaf(q, W[i], op("add", get("t"), i32(i)))).map((x) => `    ${x}`),
      `    ${set("t", op("add", get("t"), i32(Q.length)))}`,
      "    (br $groups)))",
    ]),
    ")",
  ].join("\n");
}

/**
 * The table of one row, at address 0: T[0] = 0 (words that pass left point there); then for each
 * used feature u (cuts cutStart[u] .. cutStart[u + 1], d of them), at 1 + 2 · cutStart[u], d
 * bytes for its missing-goes-left slot and d for its missing-goes-right slot: byte r is −1 (0xff)
 * when the row goes right at rank r (else 0), i.e. when the value's code is above r (a missing value: never in
 * the first, always in the second). Filled 16 bytes at a time; what a fill writes past its
 * end is written again by the next (and 15 bytes are spare after the last).
 */
function tableFunc() {
  const x = (e) => `(f64.load ${e})`;
  const fill = (name, p, code) => [
    set("q", i32(0)),
    // Ranks and codes less 128, so that a signed byte compare (one instruction) orders them.
    set(
      "iota",
      "(v128.const i8x16 -128 -127 -126 -125 -124 -123 -122 -121 -120 -119 -118 -117 -116 -115 -114 -113)",
    ),
    set("vc", `(i8x16.splat ${op("sub", code, i32(128))})`),
    `(block $${name}_done`,
    `  (loop $${name}`,
    `    (br_if $${name}_done ${op("ge_u", get("q"), get("len0"))})`,
    `    (v128.store ${op("add", get(p), get("q"))} (i8x16.gt_s ${get("vc")} ${get("iota")}))`,
    `    ${set("iota", `(i8x16.add ${get("iota")} (v128.const i8x16 16 16 16 16 16 16 16 16 16 16 16 16 16 16 16 16))`)}`,
    `    ${set("q", op("add", get("q"), i32(16)))}`,
    `    (br $${name})))`,
  ];
  return [
    '(func (export "table")',
    "  (param $x i32) (param $cs i32) (param $used i32) (param $cutStart i32) (param $cuts i32) (param $U i32)",
    "  (local $u i32) (local $S i32) (local $len0 i32) (local $len i32) (local $half i32) (local $hb i32)",
    "  (local $b0 i32) (local $v0 f64) (local $c i32) (local $p i32) (local $q i32)",
    "  (local $iota v128) (local $vc v128)",
    lines(2, [
      `(i32.store8 ${i32(0)} ${i32(0)})`,
      set("u", i32(0)),
      "(block $slots_done",
      "  (loop $slots",
      `    (br_if $slots_done ${op("ge_u", get("u"), get("U"))})`,
      `    ${set("v0", x(op("add", get("x"), op("mul", `(i32.load ${op("add", get("used"), op("shl", get("u"), i32(2)))})`, get("cs")))))}`,
      `    ${set("S", `(i32.load ${op("add", get("cutStart"), op("shl", get("u"), i32(2)))})`)}`,
      `    ${set("len0", op("sub", `(i32.load ${op("add", get("cutStart"), op("shl", op("add", get("u"), i32(1)), i32(2)))})`, get("S")))}`,
      `    ${set("p", op("add", i32(1), op("shl", get("S"), i32(1))))}`,
      `    ${set("S", op("add", get("cuts"), op("shl", get("S"), i32(3))))}`,
      `    ${set("b0", get("S"))}`,
      `    ${set("len", get("len0"))}`,
      "    (block $search_done",
      "      (loop $search",
      `        (br_if $search_done ${op("le_u", get("len"), i32(1))})`,
      `        ${set("half", op("shr_u", get("len"), i32(1)))}`,
      `        ${set("hb", op("shl", get("half"), i32(3)))}`,
      `        ${set("b0", op("add", get("b0"), `(select ${get("hb")} ${i32(0)} (f64.lt ${x(op("add", get("b0"), op("sub", get("hb"), i32(8))))} ${get("v0")}))`))}`,
      `        ${set("len", op("sub", get("len"), get("half")))}`,
      "        (br $search)))",
      "    ;; a missing value compares false everywhere: code 0",
      `    ${set("c", op("add", op("shr_u", op("sub", get("b0"), get("S")), i32(3)), `(f64.lt ${x(get("b0"))} ${get("v0")})`))}`,
      lines(4, fill("left", "p", get("c"))),
      `    ${set("p", op("add", get("p"), get("len0")))}`,
      lines(4, fill("right", "p", `(select ${i32(255)} ${get("c")} (f64.ne ${get("v0")} ${get("v0")}))`)),
      `    ${set("u", op("add", get("u"), i32(1)))}`,
      "    (br $slots))))",
    ]),
  ].join("\n");
}

/**
 * Codes `n` rows from row $r on for the current slot: each lane's branch-free lower bound (byte
 * addresses into the cuts; the lanes share the loop, whose length depends only on the slot).
 */
function searchRows(name, n, f32) {
  const L = [...Array(n).keys()];
  const x = (e) => `(f64.load ${e})`;
  const input = (e) => (f32 ? `(f64.promote_f32 (f32.load ${e}))` : x(e));
  return [
    ...L.map((i) =>
      set(`v${i}`, input(op("add", get("xu"), op("mul", op("add", get("r"), i32(i)), get("rs"))))),
    ),
    ...L.map((i) => set(`b${i}`, get("S"))),
    set("len", get("len0")),
    `(block $${name}_done`,
    `  (loop $${name}`,
    `    (br_if $${name}_done ${op("le_u", get("len"), i32(1))})`,
    `    ${set("half", op("shr_u", get("len"), i32(1)))}`,
    `    ${set("hb", op("shl", get("half"), i32(3)))}`,
    ...L.map(
      (i) =>
        `    ${set(`b${i}`, op("add", get(`b${i}`), `(select ${get("hb")} ${i32(0)} (f64.lt ${x(op("add", get(`b${i}`), op("sub", get("hb"), i32(8))))} ${get(`v${i}`)}))`))}`,
    ),
    `    ${set("len", op("sub", get("len"), get("half")))}`,
    `    (br $${name})))`,
    ";; a missing value compares false everywhere: code 0 here, 255 in the second slot",
    ...L.flatMap((i) => [
      set(
        "c",
        op(
          "add",
          op("shr_u", op("sub", get(`b${i}`), get("S")), i32(3)),
          `(f64.lt ${x(get(`b${i}`))} ${get(`v${i}`)})`,
        ),
      ),
      set(
        "o",
        op(
          "add",
          op("mul", op("shr_u", op("add", get("r"), i32(i)), i32(4)), get("group")),
          op("and", op("add", get("r"), i32(i)), i32(G - 1)),
        ),
      ),
      `(i32.store8 ${op("add", get("ca"), get("o"))} ${get("c")})`,
      `(i32.store8 ${op("add", get("cb"), get("o"))} (select ${i32(255)} ${get("c")} (f64.ne ${get(`v${i}`)} ${get(`v${i}`)})))`,
    ]),
  ];
}

function codeFunc(f32) {
  return [
    ";; Codes B rows: row r's value of slot u is the f64 at x + r·rs + used[u]·cs (strides in bytes).",
    ";; Its code (the number of the slot's cuts below it) goes to slots u and U + u; a missing value",
    ";; is 0 in the first (it then goes left at every rank) and 255 in the second (right at every rank",
    ";; below 255). Codes of sixteen rows are interleaved: row r's code of slot s is at",
    ";; codes + (r >> 4) · 32U + s · 16 + (r & 15). Slot by slot, four rows at a time: the searches'",
    ";; loops run the same number of times row after row, and four chains of loads overlap.",
    ...(f32 ? [";; The same for float32 input."] : []),
    `(func (export "${f32 ? "code32" : "code"}")`,
    "  (param $x i32) (param $B i32) (param $rs i32) (param $cs i32) (param $used i32) (param $cutStart i32)",
    "  (param $cuts i32) (param $U i32) (param $codes i32)",
    "  (local $r i32) (local $u i32) (local $xu i32) (local $ca i32) (local $cb i32) (local $o i32)",
    "  (local $S i32) (local $len0 i32) (local $len i32) (local $half i32) (local $hb i32) (local $c i32)",
    "  (local $group i32) (local $v0 f64) (local $v1 f64) (local $v2 f64) (local $v3 f64)",
    "  (local $b0 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)",
    lines(2, [
      set("group", op("shl", get("U"), i32(5))),
      set("u", i32(0)),
      "(block $slots_done",
      "  (loop $slots",
      `    (br_if $slots_done ${op("ge_u", get("u"), get("U"))})`,
      `    ${set("xu", op("add", get("x"), op("mul", `(i32.load ${op("add", get("used"), op("shl", get("u"), i32(2)))})`, get("cs"))))}`,
      `    ${set("S", `(i32.load ${op("add", get("cutStart"), op("shl", get("u"), i32(2)))})`)}`,
      `    ${set("len0", op("sub", `(i32.load ${op("add", get("cutStart"), op("shl", op("add", get("u"), i32(1)), i32(2)))})`, get("S")))}`,
      `    ${set("S", op("add", get("cuts"), op("shl", get("S"), i32(3))))}`,
      `    ${set("ca", op("add", get("codes"), op("shl", get("u"), i32(4))))}`,
      `    ${set("cb", op("add", get("ca"), op("shl", get("U"), i32(4))))}`,
      `    ${set("r", i32(0))}`,
      "    (block $fours_done",
      "      (loop $fours",
      `        (br_if $fours_done ${op("gt_u", op("add", get("r"), i32(4)), get("B"))})`,
      lines(8, searchRows("search4", 4, f32)),
      `        ${set("r", op("add", get("r"), i32(4)))}`,
      "        (br $fours)))",
      "    (block $ones_done",
      "      (loop $ones",
      `        (br_if $ones_done ${op("ge_u", get("r"), get("B"))})`,
      lines(8, searchRows("search1", 1, f32)),
      `        ${set("r", op("add", get("r"), i32(1)))}`,
      "        (br $ones)))",
      `    ${set("u", op("add", get("u"), i32(1)))}`,
      "    (br $slots))))",
    ]),
  ].join("\n");
}

const header = `;; Generated by scripts/gen-compact-kernel.mjs (edit that, run it, then \`npm run wasm\`).
;;
;; The compact predictor's kernels (see compact.ts) in WebAssembly, without V8's bounds check on every
;; load: coding rows to threshold ranks, and the walks over perfect trees for models with one value
;; per leaf. Leaf values are added in the JavaScript walk's order: results are bit for bit equal.
;;
;; For single rows, a tree of depth D is laid out in cache-line blocks: its top min(D, 5) levels in
;; one block of 2^P u16 words (heap order from index 1), then one block per top leaf holding the
;; next D − P levels (2^(D−P) words, heap order from 1): a walk reads two cache lines, not one per
;; level. Batches, whose rows touch every line of a tree anyway, read int32 words in heap order.
;; A word is slot · 256 + rank; a step goes to 2l + (code of the slot > rank). Each row has two
;; codes per feature (slots u and U + u) that differ only for a missing value, so a word's slot
;; also says where missing goes. A tree shallower than D is padded with words that pass left (rank
;; 255), so its walk may stop at its own depth d; the leaf reached is then the left-most below.
;;
;; Memory: one per model and thread, sized once, never grown (see compact-kernel.ts).
(module
  (import "env" "memory" (memory 1 65536))
`;

/** The text of compact-kernel.wat. */
export function compactKernelWat() {
  const funcs = [codeFunc(false), codeFunc(true), blockFunc(), tableFunc(), rowFunc(), nodeRowFunc()];
  return `${header}\n${funcs.map((f) => lines(2, f.split("\n"))).join("\n\n")})\n`;
}

export const COMPACT_KERNEL_WAT = join(import.meta.dirname, "..", "src", "ml", "tree", "compact-kernel.wat");

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(COMPACT_KERNEL_WAT, compactKernelWat());
  console.log(`wrote ${COMPACT_KERNEL_WAT}`);
}
