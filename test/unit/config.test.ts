import {
  ConfigError,
  DEFAULT_FLEET_CONFIG,
  flagOf,
  KNOBS,
  LOCAL_FLEET_CONFIG,
  LOG_LEVELS,
  parseFleetConfig,
} from "../../lambdas/core/config";

describe("parseFleetConfig", () => {
  it("gives the documented defaults for an empty config", () => {
    expect(parseFleetConfig({})).toEqual(DEFAULT_FLEET_CONFIG);
    expect(DEFAULT_FLEET_CONFIG).toMatchObject({ cpuThresholdPercent: 80, bufferNodes: 1 });
  });

  it("accepts numbers and numeric strings (flags and CDK context give strings)", () => {
    expect(parseFleetConfig({ cpuThresholdPercent: "70", maxStreamsPerNode: 45, bufferNodes: "0" })).toMatchObject({
      cpuThresholdPercent: 70,
      maxStreamsPerNode: 45,
      bufferNodes: 0,
    });
  });

  it.each(LOG_LEVELS)("accepts the log level %s", (logLevel) => {
    expect(parseFleetConfig({ logLevel }).logLevel).toBe(logLevel);
  });

  it.each([
    [{ cpuThresholdPercent: 0 }, "'cpuThresholdPercent' must be greater than 0 and at most 100, got 0"],
    [{ cpuThresholdPercent: 101 }, "'cpuThresholdPercent' must be greater than 0 and at most 100, got 101"],
    [{ cpuThresholdPercent: "eighty" }, "'cpuThresholdPercent' must be a number"],
    [{ maxStreamsPerNode: 2.5 }, "'maxStreamsPerNode' must be a whole number, got 2.5"],
    [{ bufferNodes: -1 }, "'bufferNodes' must be at least 0"],
    [{ reservationTtlSeconds: 1 }, "'reservationTtlSeconds' must be at least 5"],
    [{ heartbeatSeconds: Number.NaN }, "'heartbeatSeconds' must be a number"],
    [{ minNodes: 5, maxNodes: 2 }, "'maxNodes' (2) must be at least 'minNodes' (5)"],
    [{ bufferNode: 1 }, "unknown key 'bufferNode'"],
    [{ maxNodes: "" }, "'maxNodes' must be a number"],
    [{ warmPoolSize: -1 }, "'warmPoolSize' must be at least 0"],
    [{ warmPoolSize: 1.5 }, "'warmPoolSize' must be a whole number, got 1.5"],
    [{ maxNodes: 4, warmPoolSize: 5 }, "'warmPoolSize' (5) must be at most 'maxNodes' (4)"],
    [{ logLevel: "loud" }, "'logLevel' must be one of debug, info, warn, error, got \"loud\""],
    [{ logLevel: "INFO" }, "'logLevel' must be one of debug, info, warn, error, got \"INFO\""],
    [{ logLevel: 1 }, "'logLevel' must be one of debug, info, warn, error, got 1"],
    [{ logLevel: "" }, "'logLevel' must be one of debug, info, warn, error, got \"\""],
  ])("refuses %j, naming the key", (raw, message) => {
    expect(() => parseFleetConfig(raw, "test")).toThrow(ConfigError);
    expect(() => parseFleetConfig(raw, "test")).toThrow(message);
  });

  it("names every bad key at once and the source", () => {
    try {
      parseFleetConfig({ cpuThresholdPercent: 0, bufferNodes: -2 }, "cdk.json context 'fleet'");
      throw new Error("expected a ConfigError");
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toHaveLength(2);
      expect((error as Error).message).toMatch(/^invalid cdk.json context 'fleet': /);
    }
  });
});

describe("the knob table", () => {
  it("describes every key of the config once, in its order", () => {
    expect(KNOBS.map((knob) => knob.key)).toEqual([
      "cpuThresholdPercent",
      "maxStreamsPerNode",
      "streamCpuCostPercent",
      "reservationTtlSeconds",
      "reopenSlots",
      "bufferNodes",
      "spareLeadSeconds",
      "minNodes",
      "maxNodes",
      "scaleInIdleSeconds",
      "heartbeatSeconds",
      "silenceBreakerPercent",
      "maxViewersPerStream",
      "warmPoolSize",
      "logLevel",
    ]);
  });

  it.each([
    ["cpuThresholdPercent", "--cpu-threshold-percent"],
    ["streamCpuCostPercent", "--stream-cpu-cost-percent"],
    ["maxStreamsPerNode", "--max-streams-per-node"],
    ["heartbeatSeconds", "--heartbeat-seconds"],
  ])("spells %s's flag %s: the key in kebab-case", (key, flag) => {
    expect(KNOBS.find((knob) => knob.key === key)?.flag).toBe(flag);
    expect(flagOf(key)).toBe(flag);
  });

  it("gives every knob a unit and a one-line description", () => {
    for (const knob of KNOBS) {
      expect(knob.description).toMatch(/^[a-zA-Z].*[^.]$/);
      expect(knob.description).not.toContain("\n");
      expect(["%", "s", "nodes", "streams", "viewers", ""]).toContain(knob.unit);
    }
  });

  it("makes the defaults, which the documented ones are", () => {
    expect(DEFAULT_FLEET_CONFIG).toEqual({
      cpuThresholdPercent: 80,
      streamCpuCostPercent: 2,
      reservationTtlSeconds: 60,
      reopenSlots: 8,
      bufferNodes: 1,
      spareLeadSeconds: 0,
      minNodes: 1,
      maxNodes: 10,
      scaleInIdleSeconds: 300,
      heartbeatSeconds: 15,
      silenceBreakerPercent: 30,
      maxViewersPerStream: 20,
      warmPoolSize: 0,
      logLevel: "info",
    });
  });

  it("makes local mode's defaults: quicker scale-in and heartbeats, fewer nodes, the rest as on AWS", () => {
    expect(LOCAL_FLEET_CONFIG).toEqual({
      ...DEFAULT_FLEET_CONFIG,
      scaleInIdleSeconds: 60,
      heartbeatSeconds: 5,
      maxNodes: 5,
      logLevel: "warn",
      reopenSlots: 1,
    });
    expect(parseFleetConfig({ ...LOCAL_FLEET_CONFIG })).toEqual(LOCAL_FLEET_CONFIG);
  });
});

describe("parseFleetConfig naming flags", () => {
  it.each([
    [{ bufferNodes: "-1" }, "--buffer-nodes must be at least 0 and at most 1000, got -1"],
    [{ cpuThresholdPercent: "eighty" }, '--cpu-threshold-percent must be a number, got "eighty"'],
    [{ minNodes: "5", maxNodes: "2" }, "--max-nodes (2) must be at least --min-nodes (5)"],
    [{ maxNodes: "2", warmPoolSize: "3" }, "--warm-pool-size (3) must be at most --max-nodes (2)"],
    [{ bufferNode: "1" }, "unknown flag --buffer-node (known: --cpu-threshold-percent, "],
  ])("refuses %j, naming the flag the value came from", (raw, message) => {
    expect(() => parseFleetConfig(raw, "flags", "flag")).toThrow(message);
  });

  it("names no key when the values came from flags", () => {
    expect(() => parseFleetConfig({ bufferNodes: "-1", maxStreamsPerNode: "0" }, "flags", "flag")).toThrow(
      /^invalid flags: --buffer-nodes [^']*; --max-streams-per-node [^']*$/,
    );
  });
});
