/**
 * The control plane's HTTP API: one route per entry of `ROUTES` (lambdas/contract.ts), a `$default`
 * route answering JSON 404/405, a throttled `$default` stage with access logs. Each route
 * authenticates in its Lambda (cdk-nag APIG4 says why).
 */
import { RemovalPolicy } from "aws-cdk-lib";
import { AccessLogFormat } from "aws-cdk-lib/aws-apigateway";
import {
  type CfnStage,
  HttpApi,
  type HttpMethod,
  HttpRoute,
  HttpRouteKey,
  HttpStage,
  LogGroupLogDestination,
  PayloadFormatVersion,
  type ThrottleSettings,
} from "aws-cdk-lib/aws-apigatewayv2";
import { HttpLambdaIntegration } from "aws-cdk-lib/aws-apigatewayv2-integrations";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import type { Construct } from "constructs";
import { type FunctionName, ROUTES, UNMATCHED_ROUTE_FUNCTION } from "../lambdas/contract";
import type { FleetFunctions } from "./control-plane-functions";
import { acknowledge } from "./nag";

/** Props of `FleetApi`. */
export interface FleetApiProps {
  /** Prefixes the API's name and description. */
  readonly fleetName: string;
  /** The Lambdas the routes call, by entry point. */
  readonly functions: FleetFunctions;
  /** The camera, viewer and operator routes' throttling (and the stage's default), as validated by `validateFleetProps`. */
  readonly throttle: ThrottleSettings;
  /** The node routes' throttling: each route its own bucket, apart from the cameras' and operators'. */
  readonly nodeThrottle: ThrottleSettings;
  /** Retention of the access logs. */
  readonly logRetention: RetentionDays;
}

/** One JSON line per request. $context.path has no query string: camera keys (?key=...) stay out of the logs. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: "$context.requestId",
    ip: "$context.identity.sourceIp",
    time: "$context.requestTime",
    method: "$context.httpMethod",
    path: "$context.path",
    routeKey: "$context.routeKey",
    status: "$context.status",
    responseLength: "$context.responseLength",
    latencyMs: "$context.responseLatency",
    integrationLatencyMs: "$context.integrationLatency",
    integrationError: "$context.integrationErrorMessage",
    userAgent: "$context.identity.userAgent",
  }),
);

/** Builds the API in the fleet's scope (see lib/rtmp-fleet.ts for why not a child construct). */
export class FleetApi {
  public readonly api: HttpApi;
  /** Its `$default` stage (throttling, access logs). */
  public readonly stage: HttpStage;

  constructor(scope: Construct, props: FleetApiProps) {
    this.api = new HttpApi(scope, "Api", {
      apiName: `${props.fleetName}-api`,
      description: `${props.fleetName}: where cameras publish and viewers play; nginx-rtmp callbacks; node heartbeats; operator views`,
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(scope, "ApiAccessLogs", {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(scope, "ApiStage", {
      httpApi: this.api,
      stageName: "$default",
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });
    const routes = this.addRoutes(props.functions);
    this.throttleByCaller(props, routes);
    acknowledge(
      this.api,
      "AwsSolutions-APIG4",
      "Each route authenticates in its Lambda, with a credential API Gateway authorizers cannot check without " +
        "a second Lambda on the path: the camera key (HMAC of the stream name) on /resolve, the viewer key (its " +
        "own HMAC) on /play, the per-node secret on /hooks/*, /nodes/heartbeat and /nodes/boot, the operator bearer token on GET /nodes, /streams and /events. An " +
        "authorizer's extra cold start would eat into nginx-rtmp's 10 s on_publish budget.",
    );
  }

  /**
   * Route-level throttling on the stage: each contract route gets its own bucket, with the node
   * limits for the routes nodes call (hooks, heartbeat, boot), so that a flood of resolves is refused
   * without starving the heartbeats that keep nodes alive. `$default` keeps the stage's limits.
   */
  private throttleByCaller(props: FleetApiProps, routes: HttpRoute[]): void {
    const stage = this.stage.node.defaultChild as CfnStage;
    stage.routeSettings = Object.fromEntries(
      ROUTES.map((route) => {
        const { rateLimit, burstLimit } = route.caller === "node" ? props.nodeThrottle : props.throttle;
        // RouteSettings is a JSON map in CloudFormation: CDK passes it as written, so the keys are its own.
        return [`${route.method} ${route.path}`, { ThrottlingRateLimit: rateLimit, ThrottlingBurstLimit: burstLimit }];
      }),
    );
    // A stage's route settings name its routes: they must exist first.
    this.stage.node.addDependency(...routes);
  }

  /** The contract's routes, then `$default` for every other request. */
  private addRoutes(functions: FleetFunctions): HttpRoute[] {
    const integration = (entry: FunctionName) =>
      new HttpLambdaIntegration(`${entry}-integration`, functions[entry].function, {
        payloadFormatVersion: PayloadFormatVersion.VERSION_2_0,
      });
    const routes = ROUTES.flatMap((route) =>
      this.api.addRoutes({
        path: route.path,
        methods: [route.method as HttpMethod],
        integration: integration(route.function),
      }),
    );
    // In the API's scope, like the routes addRoutes makes.
    new HttpRoute(this.api, "DefaultRoute", {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integration(UNMATCHED_ROUTE_FUNCTION),
    });
    return routes;
  }
}
