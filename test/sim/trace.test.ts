import { STANDARD_TRACES } from "../../sim/generators";
import { formatTrace, liveBySecond, parseTrace, TraceError } from "../../sim/trace";

const HEADER = "t,stream,event";

/** Parses `lines` under the header and returns the error, which the test expects. */
function rejection(lines: string[], header = HEADER): TraceError {
  try {
    parseTrace([header, ...lines].join("\n"), "test.csv");
  } catch (error) {
    expect(error).toBeInstanceOf(TraceError);
    return error as TraceError;
  }
  throw new Error("the trace was accepted");
}

describe("parseTrace", () => {
  it("reads events in order, with fractional times, blank lines and CRLF", () => {
    const trace = parseTrace(
      `${HEADER}\r\n0,cam1,publish\r\n\r\n2.5,cam2,publish\r\n3,cam1,done\r\n3,cam1,publish\r\n`,
    );
    expect(trace.events).toEqual([
      { t: 0, stream: "cam1", event: "publish" },
      { t: 2.5, stream: "cam2", event: "publish" },
      { t: 3, stream: "cam1", event: "done" },
      { t: 3, stream: "cam1", event: "publish" },
    ]);
    expect(trace.lengthSeconds).toBe(3);
  });

  it.each<[string, string[], number, string]>([
    ["an unknown event", ["0,cam1,publish", "1,cam1,stop"], 3, "unknown event 'stop'"],
    ["a t that is not a number", ["abc,cam1,publish"], 2, "t must be a number of seconds, got 'abc'"],
    ["an empty t", [",cam1,publish"], 2, "t must be a number"],
    ["a negative t", ["-1,cam1,publish"], 2, "t must not be negative, got -1"],
    ["time going backwards", ["5,cam1,publish", "4.9,cam2,publish"], 3, "time goes backwards: 4.9 after 5"],
    ["a done for a stream never published", ["0,cam1,publish", "1,cam2,done"], 3, "never published"],
    ["a done for a stream that is not live", ["0,cam1,publish", "1,cam1,done", "2,cam1,done"], 4, "which is not live"],
    ["a second publish of a live stream", ["0,cam1,publish", "1,cam1,publish"], 3, "published again while it is live"],
    ["a bad stream name", ["0,cam 1,publish"], 2, "bad stream name 'cam 1'"],
    ["a stream name that is a path segment", ["0,..,publish"], 2, "may not be '.' or '..'"],
    ["a missing field", ["0,cam1"], 2, "expected 3 fields"],
    ["an extra field", ["0,cam1,publish,x"], 2, "expected 3 fields"],
  ])("rejects %s with its line number", (_, lines, line, message) => {
    const error = rejection(lines);
    expect(error.line).toBe(line);
    expect(error.message).toContain(`test.csv:${line}: `);
    expect(error.message).toContain(message);
  });

  it("counts blank lines in the line numbers", () => {
    expect(rejection(["0,cam1,publish", "", "1,cam1,stop"]).line).toBe(4);
  });

  it.each([["time,stream,event"], ["t,stream"], [""]])("rejects the header %j on line 1", (header) => {
    const error = rejection(["0,cam1,publish"], header);
    expect(error.line).toBe(1);
    expect(error.message).toContain("the header must be 't,stream,event'");
  });

  it("rejects a trace without events", () => {
    expect(() => parseTrace(`${HEADER}\n`)).toThrow("the trace has no events");
  });

  it("writes what it reads", () => {
    const events = parseTrace(`${HEADER}\n0.1234,a,publish\n7,a,done\n`).events;
    expect(formatTrace(events)).toBe(`${HEADER}\n0.123,a,publish\n7,a,done\n`);
  });
});

describe("liveBySecond", () => {
  it("counts the sessions live at each whole second", () => {
    const trace = parseTrace(`${HEADER}\n0,a,publish\n0.5,b,publish\n2,a,done\n4,b,done\n`);
    expect([...liveBySecond(trace)]).toEqual([1, 2, 1, 1]);
  });
});

describe("the standard traces", () => {
  it.each(STANDARD_TRACES.map((t) => [t.name, t] as const))("%s is valid and the same for the same seed", (_, t) => {
    const text = formatTrace(t.generate(7));
    expect(() => parseTrace(text, t.name)).not.toThrow();
    expect(formatTrace(t.generate(7))).toBe(text);
    expect(formatTrace(t.generate(8))).not.toBe(text);
  });
});
