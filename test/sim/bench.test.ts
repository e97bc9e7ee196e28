import { readFileSync } from "node:fs";
import path from "node:path";
import { MissingMarkersError, replaceRegion } from "../../bench/markdown";
import { tracePath } from "../../bench/sim-traces";
import { STANDARD_TRACES } from "../../sim/generators";
import { formatTrace } from "../../sim/trace";

const MARKERS = ["<!-- a:begin -->", "<!-- a:end -->"] as const;

describe("replaceRegion", () => {
  it("rewrites only what lies between the markers", () => {
    const text = "# Title\n<!-- a:begin -->\nold\n<!-- a:end -->\nafter\n";
    expect(replaceRegion(text, "X.md", MARKERS, "new\n")).toBe(
      "# Title\n<!-- a:begin -->\nnew\n<!-- a:end -->\nafter\n",
    );
  });

  it.each([
    ["no markers", "# Title\n"],
    ["only the first", "<!-- a:begin -->\n"],
    ["markers in the wrong order", "<!-- a:end -->\n<!-- a:begin -->\n"],
  ])("refuses a file with %s, naming the file and the markers", (_, text) => {
    expect(() => replaceRegion(text, "README.md", MARKERS, "x")).toThrow(MissingMarkersError);
    expect(() => replaceRegion(text, "README.md", MARKERS, "x")).toThrow(
      "README.md has no '<!-- a:begin -->' ... '<!-- a:end -->' region",
    );
  });
});

describe("the committed standard traces", () => {
  it.each(STANDARD_TRACES.map((t) => [t.name, t] as const))("%s is what its generator makes", (_, trace) => {
    const committed = readFileSync(path.join(__dirname, "../..", tracePath(trace)), "utf8");
    expect(committed).toBe(formatTrace(trace.generate(1)));
  });
});
