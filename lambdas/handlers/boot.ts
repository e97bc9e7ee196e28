/**
 * `POST /nodes/boot` (JSON, from the node's bootstrap, straight to the API with the node's id and
 * secret: its shim is not running yet): `{"stage": ..., "failed"?: reason}`. Progress extends the
 * node's launch; a failure abandons it (lambdas/core/boot.ts).
 */
import { BOOT_STAGES, type BootReport, type BootStage, MAX_BOOT_REASON_LENGTH, recordBootReport } from "../core/boot";
import type { NodeCredential } from "../core/fleet";
import type { ApiDeps } from "./api";
import { nodeCredential } from "./auth";
import { ApiError, type HttpEvent, type HttpResult, json, jsonBody } from "./http";

const bad = (message: string) => new ApiError(400, "invalid_boot_report", message);

/** Control characters: a reason is one line of text for the operator's views and logs. */
const CONTROL = /\p{Cc}/u;

/**
 * Validates a boot report's body: a known stage, and a failure's reason as one line of at most
 * MAX_BOOT_REASON_LENGTH characters (code points, as bootstrap.sh's Python and the OpenAPI schema
 * count them); nothing else.
 * @throws ApiError 400 naming the bad field
 */
export function parseBootReport(credential: NodeCredential, body: Record<string, unknown>): BootReport {
  const { stage, failed, ...rest } = body;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw bad(`unknown field ${unknown.join(", ")}: a report is {stage, failed?}`);
  if (typeof stage !== "string" || !(BOOT_STAGES as readonly string[]).includes(stage)) {
    throw bad(`stage must be one of ${BOOT_STAGES.join(", ")}`);
  }
  if (
    failed !== undefined &&
    (typeof failed !== "string" || failed === "" || [...failed].length > MAX_BOOT_REASON_LENGTH || CONTROL.test(failed))
  ) {
    throw bad(`failed must be the reason, one line of 1 to ${MAX_BOOT_REASON_LENGTH} characters`);
  }
  return { ...credential, stage: stage as BootStage, ...(failed === undefined ? {} : { failed }) };
}

/** The route: the node's state after the report, and what became of its launch. */
export async function bootReport(event: HttpEvent, deps: ApiDeps): Promise<HttpResult> {
  const credential = nodeCredential(event);
  const report = parseBootReport(credential, jsonBody(event));
  const outcome = await recordBootReport(deps, report);
  if (report.failed !== undefined) {
    deps.logger.warn("node boot failed", { nodeId: report.nodeId, stage: report.stage, launch: outcome.launch });
  }
  return json(200, { nodeId: report.nodeId, state: outcome.node.state, launch: outcome.launch });
}
