import { ConfigError, DEFAULT_FLEET_CONFIG, parseFleetConfig } from "../../lambdas/core/config";

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
