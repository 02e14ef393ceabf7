/**
 * Cost profiles as JSON: a CostModel written to a file (e.g. one fitted to a real machine by
 * `mmlab-bench host --save-profile`) and read back. The file is the CostModel object itself:
 * `name` and `source` strings and every cost field in nanoseconds.
 */
import { type CostModel, E5_2680_V4_18 } from "./cost-model.js";

/** The numeric fields of a CostModel, in declaration order. */
export const COST_FIELDS: readonly (keyof CostModel)[] = Object.freeze(
  (Object.keys(E5_2680_V4_18) as (keyof CostModel)[]).filter((k) => k !== "name" && k !== "source"),
);

/**
 * Checks a parsed JSON value and returns it as a frozen CostModel. Throws a TypeError naming
 * the first missing or mistyped field, a RangeError for a negative or non-finite cost or an
 * unknown field (a misspelt field would otherwise be silently ignored).
 */
export function costModelFromJson(value: unknown): CostModel {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError("@mmlab/mm-core: a cost profile must be a JSON object");
  }
  const o = value as Record<string, unknown>;
  for (const k of ["name", "source"]) {
    if (typeof o[k] !== "string" || o[k] === "") {
      throw new TypeError(`@mmlab/mm-core: cost profile field "${k}" must be a non-empty string`);
    }
  }
  const known = new Set<string>(["name", "source", ...COST_FIELDS]);
  for (const k of Object.keys(o)) {
    if (!known.has(k)) throw new RangeError(`@mmlab/mm-core: unknown cost profile field "${k}"`);
  }
  const out: Record<string, unknown> = { name: o.name, source: o.source };
  for (const k of COST_FIELDS) {
    const v = o[k];
    if (typeof v !== "number") {
      throw new TypeError(`@mmlab/mm-core: cost profile field "${k}" must be a number (ns)`);
    }
    if (!Number.isFinite(v) || v < 0) {
      throw new RangeError(`@mmlab/mm-core: cost profile field "${k}" must be finite and >= 0`);
    }
    out[k] = v;
  }
  return Object.freeze(out) as unknown as CostModel;
}

/** The JSON text of a profile (the fields in CostModel's order), for a file. */
export function costModelToJson(model: CostModel): string {
  const o: Record<string, unknown> = { name: model.name, source: model.source };
  for (const k of COST_FIELDS) o[k] = model[k];
  return `${JSON.stringify(o, null, 2)}\n`;
}
