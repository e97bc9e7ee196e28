import { TRACE_FAMILIES } from "./sim/generators";
import { formatTrace, parseTrace } from "./sim/trace";
import { buildOptions } from "./sim/options";
import { simulate } from "./sim/simulate";
async function main() {
  const family = TRACE_FAMILIES.find((f) => f.name === (process.argv[2] ?? "flash-crowd"))!;
  const out: string[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    const trace = parseTrace(formatTrace(family.generate(seed)), `${family.name}#${seed}`);
    const { result } = await simulate(trace, buildOptions("packed", seed, { ...family.fleet }));
    out.push(`${seed}:${(result as any).ratioToNeverCut}`);
  }
  console.log(out.join(" "));
}
main();
