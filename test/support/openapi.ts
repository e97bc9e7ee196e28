/** The API's OpenAPI description (docs/openapi.yaml), compiled for checking answers against it. */
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { parse } from "yaml";

/** The parsed description. */
export const SPEC = parse(readFileSync(path.resolve(__dirname, "../../docs/openapi.yaml"), "utf8")) as {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { $ref?: string; content?: Record<string, unknown> }> }>
  >;
  components: Record<string, Record<string, unknown>>;
};

const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema(SPEC, "openapi.json");

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, "~0").replace(/\//g, "~1")).join("/");

/**
 * Why an answer does not conform to the description of its operation, or undefined when it does:
 * its status must be documented, its media type documented for that status, its body valid.
 */
export function conformanceProblem(
  method: string,
  route: string,
  status: number,
  contentType: string | undefined,
  body: string,
): string | undefined {
  const operation = SPEC.paths[route]?.[method.toLowerCase()];
  if (!operation) return `${method} ${route} is not described`;
  let base = pointer("paths", route, method.toLowerCase(), "responses", String(status));
  let response = operation.responses[String(status)];
  if (!response) return `${method} ${route} does not document status ${status}`;
  if (response.$ref) {
    base = response.$ref.slice(2);
    response = SPEC.components.responses?.[response.$ref.split("/").pop() as string] as typeof response;
  }
  const mediaType = (contentType ?? "").split(";")[0]?.trim() ?? "";
  if (!response?.content?.[mediaType])
    return `${method} ${route} ${status} does not document ${mediaType || "no content type"}`;
  const validate = ajv.getSchema(`openapi.json#/${base}/content/${pointer(mediaType)}/schema`);
  if (!validate) return `no schema at ${base}`;
  const data = mediaType === "application/json" ? JSON.parse(body) : body;
  return validate(data)
    ? undefined
    : `${method} ${route} ${status}: ${ajv.errorsText(validate.errors)} in ${body.slice(0, 300)}`;
}
