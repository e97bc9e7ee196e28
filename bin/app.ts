#!/usr/bin/env node
/** The CDK app (`cdk synth`, `cdk deploy`): settings come from cdk.json's context and `-c key=value`. */
import { ConfigError } from "../lambdas/core/config";
import { createFleetApp } from "../lib/fleet-app";

try {
  createFleetApp().app.synth();
} catch (error) {
  // A bad setting is the operator's to fix: say which, without a stack trace.
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
