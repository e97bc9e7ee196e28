import { readStatusOptions, STATUS_COMMAND } from "../../local/status";
import { HELP, parseCommandLine } from "../../scripts/command-line";

const parse = (...argv: string[]) => parseCommandLine(STATUS_COMMAND, argv, (line) => readStatusOptions(line, {}));

describe("npm run status's command line", () => {
  it.each([["--help"], ["-h"]])("asks for the usage with %s", (flag) => {
    expect(parse(flag)).toBe(HELP);
  });

  it("reads --url URL and --token=TOKEN, without the URL's final slash", () => {
    expect(parse("--url", "http://127.0.0.1:8787/", "--token=t0k")).toEqual({
      base: "http://127.0.0.1:8787",
      token: "t0k",
    });
  });

  it("takes the token from FLEET_OPERATOR_TOKEN when no --token is given", () => {
    const line = parseCommandLine(STATUS_COMMAND, ["--url=https://api.example.com"], (l) =>
      readStatusOptions(l, { FLEET_OPERATOR_TOKEN: "from-env" }),
    );
    expect(line).toEqual({ base: "https://api.example.com", token: "from-env" });
  });

  it.each([
    ["an unknown flag", ["--url", "http://x", "--tokn", "t"], "unknown option --tokn"],
    ["a flag without its value", ["--url"], "--url needs a value"],
    ["a missing --url", ["--token", "t"], "--url URL is required"],
    [
      "a URL that is not http(s)",
      ["--url", "127.0.0.1:8787"],
      "--url must be an http:// or https:// URL, got '127.0.0.1:8787'",
    ],
    ["a stray argument", ["--url", "http://x", "nodes"], "unexpected argument 'nodes'"],
  ])("refuses %s, with the usage", (_, argv, problem) => {
    expect(() => parse(...argv)).toThrow(`${problem}\nusage: npm run status -- --url URL [--token TOKEN]`);
  });
});
