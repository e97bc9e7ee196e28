import { readFileSync } from "node:fs";
import path from "node:path";
import { KNOBS } from "../../lambdas/core/config";
import { acceptedValues, generatedPage, KNOB_PAGES, knobTable } from "../../scripts/docs-knobs";

const ROOT = path.resolve(__dirname, "../..");
const knob = (key: string) => KNOBS.find((k) => k.key === key) as (typeof KNOBS)[number];

describe("the knob tables in the docs", () => {
  it.each(KNOB_PAGES.map((page) => [page.file, page] as const))(
    "%s has the table npm run docs:knobs writes",
    (file, { columns }) => {
      const committed = readFileSync(path.join(ROOT, file), "utf8");
      const fresh = generatedPage(file, columns, committed) === committed;
      expect(fresh ? "up to date" : `stale: run npm run docs:knobs, then commit ${file}`).toBe("up to date");
    },
  );

  it("has one row per knob with the columns asked for", () => {
    const rows = knobTable(["key", "flag", "default", "local mode"]).split("\n");
    expect(rows).toHaveLength(2 + KNOBS.length);
    expect(rows[0]).toBe("| key | flag | default | local mode |");
    expect(rows).toContain("| `maxNodes` | `--max-nodes` | 10 | 5 |");
    expect(rows).toContain("| `maxStreamsPerNode` | `--max-streams-per-node` | none |  |");
  });

  it.each([
    ["cpuThresholdPercent", "above 0, up to 100"],
    ["reservationTtlSeconds", "whole, 5 to 3600"],
    ["bufferNodes", "whole, 0 to 1000"],
    ["logLevel", "`debug`, `info`, `warn`, `error`"],
  ])("says in words which values %s accepts: %s", (key, words) => {
    expect(acceptedValues(knob(key))).toBe(words);
  });
});
