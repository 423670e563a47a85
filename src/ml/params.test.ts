import { describe, expect, it } from "vitest";
import { NetwardenError } from "../core/index.js";
import { GBDT_PARAMS } from "./gbdt/params.js";
import { describeParam, editDistance, type ParamSpecs, resolveParams, suggestParam } from "./params.js";

const SPEC: ParamSpecs = {
  depth: { type: "int", default: 6, min: 1, max: 10, nullable: true, doc: "Depth." },
  rate: { type: "number", default: 0.1, min: 0, exclusiveMin: true, max: 1, doc: "Rate.", aliases: ["eta"] },
  policy: { type: "enum", default: "a", values: ["a", "b"], doc: "Policy." },
  flag: { type: "bool", default: false, doc: "Flag." },
};

function thrown(fn: () => unknown): NetwardenError {
  try {
    fn();
  } catch (e) {
    if (e instanceof NetwardenError) return e;
    throw e;
  }
  throw new Error("expected a NetwardenError");
}

describe("resolveParams", () => {
  it("fills defaults and keeps given values", () => {
    expect(resolveParams("toy", SPEC, { depth: 3, flag: true })).toEqual({
      depth: 3,
      rate: 0.1,
      policy: "a",
      flag: true,
    });
    expect(resolveParams("toy", SPEC, undefined)).toEqual({ depth: 6, rate: 0.1, policy: "a", flag: false });
    expect(resolveParams("toy", SPEC, { depth: null }).depth).toBeNull();
  });

  it("rejects unknown names with a did-you-mean by edit distance", () => {
    const e = thrown(() => resolveParams("toy", SPEC, { dept: 3 }));
    expect(e.code).toBe("NW_LEARNER_UNKNOWN_PARAM");
    expect(e.details?.param).toBe("dept");
    expect(e.details?.suggestion).toBe("depth");
    expect(e.hint).toContain("`depth`");
    expect(e.where).toBe("toy params.dept");
  });

  it("suggests the real name for another library's alias", () => {
    const e = thrown(() => resolveParams("gbdt", GBDT_PARAMS, { eta: 0.3 }));
    expect(e.details?.suggestion).toBe("learning_rate");
    const e2 = thrown(() => resolveParams("gbdt", GBDT_PARAMS, { num_leaves: 63 }));
    expect(e2.details?.suggestion).toBe("max_leaves");
  });

  it("lists known names when nothing is close", () => {
    const e = thrown(() => resolveParams("toy", SPEC, { completely_different: 1 }));
    expect(e.details?.suggestion).toBeUndefined();
    expect(e.hint).toContain("depth, rate, policy, flag");
  });

  it("rejects bad values naming the parameter, value and expectation", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ depth: 2.5 }, "an integer in [1, 10] or null"],
      [{ depth: 0 }, "an integer in [1, 10] or null"],
      [{ depth: "3" }, "an integer in [1, 10] or null"],
      [{ rate: 0 }, "a number in (0, 1]"],
      [{ rate: Number.NaN }, "a number in (0, 1]"],
      [{ policy: "c" }, 'one of "a", "b"'],
      [{ flag: 1 }, "true or false"],
      [{ rate: null }, "a number in (0, 1]"],
    ];
    for (const [given, expected] of cases) {
      const e = thrown(() => resolveParams("toy", SPEC, given));
      const name = Object.keys(given)[0];
      expect(e.code).toBe("NW_LEARNER_INVALID_PARAM");
      expect(e.details?.param).toBe(name);
      expect(e.message).toContain(`\`${name}\``);
      expect(e.message).toContain(expected);
    }
  });

  it("describes one-sided ranges", () => {
    expect(describeParam({ type: "number", default: 0, min: 0, doc: "" })).toBe("a number ≥ 0");
    expect(describeParam({ type: "int", default: 1, max: 5, exclusiveMax: true, doc: "" })).toBe(
      "an integer < 5",
    );
  });
});

describe("editDistance / suggestParam", () => {
  it("computes Levenshtein distances", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    expect(editDistance("same", "same")).toBe(0);
  });
  it("suggests within a small distance only", () => {
    expect(suggestParam("RATE", SPEC)).toBe("rate");
    expect(suggestParam("zzzzzzzz", SPEC)).toBeUndefined();
  });
});
