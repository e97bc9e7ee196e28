/**
 * The library's entry point (`npm install rtmp-fleet`, built into construct/ by
 * `npm run build:lib`): the `RtmpFleet` construct with its props and defaults, the policy's type,
 * defaults and validation, and `RtmpFleetStack`, the stack this repository's app deploys. The app
 * (bin/app.ts) imports the same files from source.
 */
export { ConfigError, DEFAULT_FLEET_CONFIG, type FleetConfig, parseFleetConfig } from "../lambdas/core/config";
export { type AppSettings, readAppSettings } from "./app-settings";
export type { FleetFunctions } from "./control-plane-functions";
export type { FleetFunction } from "./fleet-function";
export { RTMP_FLEET_DEFAULTS, RtmpFleet, type RtmpFleetProps } from "./rtmp-fleet";
export { RtmpFleetStack, type RtmpFleetStackProps } from "./rtmp-fleet-stack";
