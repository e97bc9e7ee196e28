/**
 * The deployed stack's logical ids are its identity: CloudFormation replaces a resource whose
 * logical id changes (a new registry table, a new media-node group: every stream cut). This test
 * holds every resource of the template as it was deployed (test/infra/logical-ids.json, taken
 * from the stack before the construct was split into its parts) to the same logical id and type.
 * New resources may be added; none may move. A resource removed on purpose is listed in RETIRED
 * with the reason it can go: never one that holds state or carries streams.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { templateOf } from "./helpers";

const DEPLOYED: Readonly<Record<string, string>> = JSON.parse(
  readFileSync(path.join(__dirname, "logical-ids.json"), "utf8"),
);

/** Resources of the deployed stack removed on purpose, and why that is safe. */
const RETIRED: Readonly<Record<string, string>> = {
  FleetNodeMasterSecretFFDDE592:
    "node credentials are issued per launch and kept in SSM; no secret derives them any more, and a node " +
    "launched before the update keeps its parameter until it terminates",
};

describe("logical ids", () => {
  const resources = templateOf().template.toJSON().Resources as Record<string, { Type: string }>;

  it("keeps every resource of the deployed stack at its logical id, with its type", () => {
    const moved = Object.entries(DEPLOYED)
      .filter(([id, type]) => !(id in RETIRED) && resources[id]?.Type !== type)
      .map(([id, type]) => `${id} (${type})`);
    expect(moved).toEqual([]);
  });

  it("retires only resources that are really gone and were deployed", () => {
    expect(Object.keys(RETIRED).filter((id) => id in resources || !(id in DEPLOYED))).toEqual([]);
  });

  it("snapshots a whole stack: the table, the group, the API and every Lambda", () => {
    const types = Object.values(DEPLOYED);
    expect(types).toEqual(
      expect.arrayContaining([
        "AWS::DynamoDB::Table",
        "AWS::AutoScaling::AutoScalingGroup",
        "AWS::ApiGatewayV2::Api",
        "AWS::Lambda::Function",
      ]),
    );
    expect(Object.keys(DEPLOYED).length).toBeGreaterThan(100);
  });
});
