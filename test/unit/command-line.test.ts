import path from "node:path";
import {
  type CommandLine,
  type CommandSpec,
  HELP,
  noArguments,
  parseCommandLine,
  readCommandLine,
  readSecret,
  type SecretInput,
  UsageError,
  usage,
  wholeNumber,
} from "../../scripts/command-line";
import { secretFiles } from "../support/secret-files";

const SPEC: CommandSpec = {
  name: "tool",
  synopsis: "npm run tool -- NAME [flags]",
  summary: "Does a thing to NAME.",
  positionals: ["NAME"],
  options: {
    seed: { description: "the seed", value: "N", default: "1" },
    "buffer-nodes": { description: "spare nodes", value: "N", shownDefault: "1", heading: "Fleet:" },
    trace: { description: "the trace", value: "FILE" },
    json: { description: "print JSON", boolean: true },
  },
  renamed: { "cpu-threshold": "cpu-threshold-percent" },
  withdrawn: { password: "set TOOL_PASSWORD instead" },
};

const lineOf = (argv: string[]): CommandLine => parseCommandLine(SPEC, argv, (line) => line) as CommandLine;
const problemOf = (argv: string[]): string => {
  try {
    parseCommandLine(SPEC, argv, (line) => line);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain("usage: npm run tool -- NAME [flags]");
    return (error as UsageError).problem;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be refused`);
};

describe("parseCommandLine", () => {
  it("reads --flag value and --flag=value, switches and positionals, and fills in defaults", () => {
    const line = lineOf(["cam1", "--trace", "a.csv", "--buffer-nodes=3", "--json"]);
    expect(line.values).toEqual({ trace: "a.csv", "buffer-nodes": "3", seed: "1" });
    expect([...line.switches]).toEqual(["json"]);
    expect(line.positionals).toEqual(["cam1"]);
  });

  it.each([
    ["a negative number after its flag", ["x", "--buffer-nodes", "-1"], "-1"],
    ["a value after '='", ["x", "--buffer-nodes=-1"], "-1"],
    ["a value starting with '--' after '='", ["x", "--buffer-nodes=--2"], "--2"],
  ])("takes %s as the value", (_, argv, value) => {
    expect(lineOf(argv).values["buffer-nodes"]).toBe(value);
  });

  it("takes an argument after -- as a positional, even one that looks like an option", () => {
    expect(lineOf(["--", "-cam"]).positionals).toEqual(["-cam"]);
  });

  it.each([[["--help"]], [["-h"]], [["--seed", "2", "-h"]]])(
    "returns HELP for %j, before it checks the positionals and required options",
    (argv) => {
      expect(parseCommandLine(SPEC, argv, () => "ran")).toBe(HELP);
    },
  );

  it.each([
    ["an unknown flag", ["x", "--colour", "red"], "unknown option --colour"],
    ["an unknown short flag", ["x", "-c"], "unknown option -c"],
    ["a flag without its value at the end", ["x", "--seed"], "--seed needs a value"],
    ["a flag followed by another flag", ["x", "--trace", "--json"], "--trace needs a value"],
    ["a flag followed by -h", ["x", "--trace", "-h"], "--trace needs a value"],
    ["a switch given a value", ["x", "--json=yes"], "--json takes no value"],
    [
      "a renamed flag, naming the new one",
      ["x", "--cpu-threshold", "70"],
      "--cpu-threshold is now --cpu-threshold-percent",
    ],
    [
      "a withdrawn flag, saying what to do instead",
      ["x", "--password", "p"],
      "--password is no longer taken: set TOOL_PASSWORD instead",
    ],
    [
      "a withdrawn flag given '=value', without repeating the value",
      ["x", "--password=hunter2"],
      "--password is no longer taken: set TOOL_PASSWORD instead",
    ],
    ["a stray argument", ["x", "y"], "unexpected argument 'y'"],
    ["a missing positional", ["--seed", "2"], "NAME is missing"],
  ])("refuses %s in one line, with the usage", (_, argv, problem) => {
    expect(problemOf(argv)).toBe(problem);
  });

  it("refuses a missing required option", () => {
    const spec: CommandSpec = { ...SPEC, options: { trace: { description: "t", value: "FILE", required: true } } };
    expect(() => parseCommandLine(spec, ["x"], () => 0)).toThrow("--trace FILE is required\nusage:");
  });

  it("adds the usage to a bad value the command refuses", () => {
    const read = (line: CommandLine) => wholeNumber(line, "seed", 0, 9);
    expect(() => parseCommandLine(SPEC, ["x", "--seed=ten"], read)).toThrow(
      "--seed must be a whole number from 0 to 9, got 'ten'\nusage: npm run tool",
    );
    expect(parseCommandLine(SPEC, ["x", "--seed=7"], read)).toBe(7);
  });
});

describe("usage", () => {
  it("lists each option with its value, description and default, help first, groups under their heading", () => {
    expect(usage(SPEC)).toBe(
      [
        "usage: npm run tool -- NAME [flags]",
        "",
        "Does a thing to NAME.",
        "",
        "  -h, --help         print this help",
        "  --seed N           the seed (default 1)",
        "",
        "Fleet:",
        "  --buffer-nodes N   spare nodes (default 1)",
        "  --trace FILE       the trace",
        "  --json             print JSON",
      ].join("\n"),
    );
  });
});

describe("readCommandLine", () => {
  const run = (argv: string[]) => {
    let out = "";
    let err = "";
    const result = readCommandLine(SPEC, argv, (line) => line.positionals[0], {
      out: (text) => (out += text),
      err: (text) => (err += text),
    });
    return { result, out, err };
  };

  it("gives the options to run with", () => {
    expect(run(["cam1"])).toEqual({ result: { options: "cam1" }, out: "", err: "" });
  });

  it("prints the usage for --help, exit code 0", () => {
    expect(run(["--help"])).toEqual({ result: { exitCode: 0 }, out: `${usage(SPEC)}\n`, err: "" });
  });

  it("prints the problem, named after the command, then the usage: exit code 2", () => {
    expect(run(["cam1", "--colour"])).toEqual({
      result: { exitCode: 2 },
      out: "",
      err: `tool: unknown option --colour\n${usage(SPEC)}\n`,
    });
  });
});

describe("noArguments", () => {
  const bench: CommandSpec = { name: "bench", synopsis: "npm run bench", options: {} };
  const silent = { out: () => undefined, err: () => undefined };
  afterEach(() => {
    process.exitCode = undefined;
  });

  it.each([
    ["no argument: run", [], true, undefined],
    ["--help: do not run, exit code 0", ["--help"], false, 0],
    ["an argument: do not run, exit code 2", ["--cameras=5"], false, 2],
  ])("answers %s", (_, argv, run, exitCode) => {
    expect(noArguments(bench, argv, silent)).toBe(run);
    expect(process.exitCode).toBe(exitCode);
  });
});

describe("readSecret", () => {
  const SECRET: SecretInput = { what: "tool password", env: "TOOL_PASSWORD", fileOption: "password-file" };
  const { dir, write: fileWith } = secretFiles("read-secret");
  const read = (file: string | undefined, env: NodeJS.ProcessEnv = {}) =>
    readSecret({ values: { "password-file": file }, switches: new Set(), positionals: [] }, SECRET, env);

  it("is undefined when neither the variable nor the file is given", () => {
    expect(read(undefined)).toBeUndefined();
  });

  it("takes the variable's value as it is", () => {
    expect(read(undefined, { TOOL_PASSWORD: " s3cret\n" })).toBe(" s3cret\n");
  });

  it.each([
    ["ending in a newline", "s3cret\n"],
    ["ending in CRLF", "s3cret\r\n"],
    ["ending without one", "s3cret"],
  ])("takes a file's text %s, without its final newline", (_, text) => {
    expect(read(fileWith("password", text))).toBe("s3cret");
  });

  it("keeps the file's other whitespace", () => {
    expect(read(fileWith("spaced", " s3 cret \n"))).toBe(" s3 cret ");
  });

  it.each([
    [
      "both the variable and the file",
      () => read(fileWith("both", "a"), { TOOL_PASSWORD: "b" }),
      "the tool password is given twice, in TOOL_PASSWORD and in --password-file: keep one",
    ],
    [
      "an empty variable",
      () => read(undefined, { TOOL_PASSWORD: "" }),
      "TOOL_PASSWORD is empty: give the tool password, or unset it to run without",
    ],
    [
      "a missing file, naming it",
      () => read(path.join(dir, "absent")),
      `--password-file: cannot read '${path.join(dir, "absent")}': no such file`,
    ],
    ["a directory, naming it", () => read(dir), `--password-file: cannot read '${dir}': it is a directory`],
    [
      "an empty file, naming it",
      () => read(fileWith("empty", "\n")),
      `--password-file: '${path.join(dir, "empty")}' is empty`,
    ],
  ])("refuses %s", (_, reading, problem) => {
    expect(reading).toThrow(new UsageError(problem));
  });
});
