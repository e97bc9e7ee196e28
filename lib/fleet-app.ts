/**
 * Builds the CDK app from its context: validated settings, the fleet's stack, and cdk-nag's
 * AwsSolutions checks, so an unacknowledged finding fails `cdk synth` as it fails the tests.
 */
import { App, type AppProps, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { readAppSettings } from "./app-settings";
import { RtmpFleetStack } from "./rtmp-fleet-stack";

/** The app and its one stack. */
export interface FleetApp {
  readonly app: App;
  readonly stack: RtmpFleetStack;
}

/** Props of `createFleetApp`. */
export interface FleetAppProps extends AppProps {
  /**
   * Run cdk-nag's AwsSolutions checks at synth (an unacknowledged finding fails synthesis).
   * @default true
   */
  readonly nagChecks?: boolean;
}

/**
 * The app, from the context the CDK CLI passes (cdk.json and `-c`), or from `props.context` in tests.
 * @throws ConfigError naming every bad context key, before any construct is built
 */
export function createFleetApp(props: FleetAppProps = {}): FleetApp {
  const { nagChecks = true, ...appProps } = props;
  const app = new App(appProps);
  const settings = readAppSettings(app.node.getAllContext());
  const stack = new RtmpFleetStack(app, settings.stackName, {
    settings,
    description: "rtmp-fleet: nginx-rtmp media nodes that fill in order, scaled by a serverless control plane",
  });
  if (nagChecks) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
