/**
 * The `logLevel` knob reaches the loggers: the Lambdas' (from the environment the stack sets) and
 * local mode's (from its flag); a level shows itself and the more severe ones.
 */
import type { Logger } from "@aws-lambda-powertools/logger";
import { ENV } from "../../lambdas/contract";
import { LOCAL_FLEET_CONFIG, type LogLevel } from "../../lambdas/core/config";
import { fleetLogger, logLevelFromEnv } from "../../lambdas/functions/aws-wiring";
import { localLogger } from "../../local/main";
import type { LocalOptions } from "../../local/options";
import { captureLogs } from "../support/log-capture";

/** The levels of the lines a logger writes when asked for one line of each. */
function levelsWritten(logger: Logger): string[] {
  const logs = captureLogs();
  try {
    logger.debug("a debug line");
    logger.info("an info line");
    logger.warn("a warn line");
    logger.error("an error line");
  } finally {
    logs.restore();
  }
  return logs.lines().map((line) => line.level as string);
}

const LOGGERS: readonly [string, (level: LogLevel) => Logger][] = [
  ["the Lambdas' logger", (level) => fleetLogger({ [ENV.logLevel]: level })],
  [
    "local mode's logger",
    (level) => localLogger({ config: { ...LOCAL_FLEET_CONFIG, logLevel: level } } as LocalOptions),
  ],
];

describe.each(LOGGERS)("%s", (_, loggerAt) => {
  it.each([
    ["debug", ["DEBUG", "INFO", "WARN", "ERROR"]],
    ["info", ["INFO", "WARN", "ERROR"]],
    ["warn", ["WARN", "ERROR"]],
    ["error", ["ERROR"]],
  ] as const)("at %s writes %j", (level, written) => {
    expect(levelsWritten(loggerAt(level))).toEqual(written);
  });
});

describe("the Lambdas' log level", () => {
  it("is info when the environment leaves it out", () => {
    expect(logLevelFromEnv({})).toBe("info");
  });

  it("fails the cold start on a level it does not know, naming the variable and the levels", () => {
    expect(() => fleetLogger({ [ENV.logLevel]: "verbose" })).toThrow(
      `invalid environment variable ${ENV.logLevel}: 'logLevel' must be one of debug, info, warn, error, got "verbose"`,
    );
  });
});
