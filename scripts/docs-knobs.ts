/**
 * `npm run docs:knobs`: writes the fleet's knob tables in README.md and docs/DEPLOY.md, between
 * their `<!-- knobs:begin -->` and `<!-- knobs:end -->` markers, from KNOBS
 * (lambdas/core/config.ts). test/unit/knob-docs.test.ts fails when a committed table is not what
 * this writes, so a knob's description is edited in one place.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { formattedMarkdown, MissingMarkersError, markdownTable, replaceRegion } from "../bench/markdown";
import { isChoiceKnob, KNOBS, type Knob } from "../lambdas/core/config";
import { type CommandSpec, noArguments } from "./command-line";

const ROOT = path.resolve(__dirname, "..");
const MARKERS = ["<!-- knobs:begin -->", "<!-- knobs:end -->"] as const;

/** The values a knob accepts, in words. */
export function acceptedValues(knob: Knob): string {
  if (isChoiceKnob(knob)) return knob.choices.map((choice) => `\`${choice}\``).join(", ");
  const range = knob.exclusiveMin ? `above ${knob.min}, up to ${knob.max}` : `${knob.min} to ${knob.max}`;
  return knob.integer ? `whole, ${range}` : range;
}

const COLUMNS = {
  key: (knob: Knob) => `\`${knob.key}\``,
  flag: (knob: Knob) => `\`${knob.flag}\``,
  unit: (knob: Knob) => knob.unit,
  default: (knob: Knob) => String(knob.default ?? "none"),
  "local mode": (knob: Knob) => (knob.localDefault === undefined ? "" : String(knob.localDefault)),
  accepts: acceptedValues,
  meaning: (knob: Knob) => knob.description,
} satisfies Record<string, (knob: Knob) => string>;

type Column = keyof typeof COLUMNS;

/** The pages with a knob table, and its columns on each. */
export const KNOB_PAGES: readonly { readonly file: string; readonly columns: readonly Column[] }[] = [
  { file: "README.md", columns: ["key", "flag", "unit", "default", "local mode", "accepts", "meaning"] },
  { file: "docs/DEPLOY.md", columns: ["key", "unit", "default", "accepts", "meaning"] },
  { file: "construct/README.md", columns: ["key", "unit", "default", "accepts", "meaning"] },
];

/** The knob table with these columns, one row per knob. */
export function knobTable(columns: readonly Column[]): string {
  return markdownTable(
    columns,
    KNOBS.map((knob) => columns.map((column) => COLUMNS[column](knob))),
  );
}

/**
 * A page as it should be: its knob table regenerated, formatted as `biome ci` wants it.
 * @param file the page's path from the repository root
 * @throws MissingMarkersError when the page has no knobs region
 */
export function generatedPage(file: string, columns: readonly Column[], text: string): string {
  return formattedMarkdown(replaceRegion(text, file, MARKERS, knobTable(columns)), path.join(ROOT, file));
}

const COMMAND: CommandSpec = {
  name: "docs:knobs",
  synopsis: "npm run docs:knobs",
  summary: `Writes the knob tables of ${KNOB_PAGES.map((page) => page.file).join(" and ")} from lambdas/core/config.ts.`,
  options: {},
};

function main(): void {
  if (!noArguments(COMMAND)) return;
  for (const { file, columns } of KNOB_PAGES) {
    const text = readFileSync(path.join(ROOT, file), "utf8");
    let generated: string;
    try {
      generated = generatedPage(file, columns, text);
    } catch (error) {
      if (!(error instanceof MissingMarkersError)) throw error;
      console.error(`docs:knobs: ${error.message}`);
      process.exitCode = 1;
      continue;
    }
    if (generated === text) {
      console.log(`${file}: up to date`);
      continue;
    }
    writeFileSync(path.join(ROOT, file), generated);
    console.log(`${file}: wrote its knob table`);
  }
}

if (require.main === module) main();
