/**
 * The fixed ingest address: one address for cameras that cannot resolve first, leading to the
 * node placement would choose now (`chooseNode`), so that it fills in order like resolve does.
 *
 * The address is moved when the first node in fill order may have changed: a slot change that
 * leaves its node full (the next node takes over) or with exactly one free slot (it was full and
 * may be older than the node the address holds), and at every scaler tick, which also covers what
 * no slot change shows (a node becoming ACTIVE, a CPU sample that fills or frees a node). The
 * address being late or early places no camera out of order: `decidePublish` refuses a new slot on
 * any other node, and the camera's retry comes back through the moved address.
 */
import { RTMP_APP, RTMP_PORT, RTMPS_PORT } from "../contract";
import type { FleetConfig } from "./config";
import type { MediaNode } from "./model";
import { chooseNode, slotsLeft, slotsToReopen } from "./placement";
import type { IngestTarget } from "./ports";
import { ROOM_READ_LIMIT } from "./room-index";
import type { StreamDeps } from "./streams";

/** Where cameras reach the fixed ingest address. */
export interface IngestAddress {
  /** The load balancer's DNS name. */
  readonly host: string;
  /** Its port, when not the protocol's own (local mode's proxy). */
  readonly port?: number;
  /** RTMPS on `RTMPS_PORT` (TLS ends at the load balancer) rather than RTMP on `RTMP_PORT`. */
  readonly tls: boolean;
}

/** The fixed address's RTMP base URL (the nodes' own form: scheme, host, port, application). */
export function ingestBaseUrl(address: IngestAddress): string {
  const [scheme, port] = address.tls ? ["rtmps", RTMPS_PORT] : ["rtmp", RTMP_PORT];
  return `${scheme}://${address.host}:${address.port ?? port}/${RTMP_APP}`;
}

/** What moving the address uses. */
export interface IngestDeps extends StreamDeps {
  readonly ingest: IngestTarget;
}

/**
 * True when a slot change that left `node` as it is may have changed the first node in fill
 * order: the node is full (the next node takes over), or has just the free slots a full node needs
 * to reopen (`slotsToReopen`: it may be older than the node the address holds). Any other change
 * leaves the node where it stands in the order, so the address stays, and costs no call.
 */
export function mayMoveIngest(node: MediaNode, now: number, config: FleetConfig): boolean {
  const free = slotsLeft(node, now, config);
  return free <= 0 || free === slotsToReopen(node, config);
}

/**
 * Points the address at the node placement would choose now, and returns its id. With no room
 * anywhere the address stays where it is: that node refuses, cameras retry, and the scale-out
 * that no room triggers brings a node the next move points at. It reads what resolve reads (the
 * first nodes with room, D16), so a hook and the scaler's repair after its tick stay flat in fleet
 * size; after a slot change on `changed`, with `changed` as the change left it, since the listing
 * may lag the write.
 */
export async function pointIngest(deps: IngestDeps, changed?: MediaNode): Promise<string | undefined> {
  const listed = await deps.registry.nodesWithRoom(ROOM_READ_LIMIT);
  const nodes = changed ? [changed, ...listed.filter((n) => n.nodeId !== changed.nodeId)] : listed;
  const first = chooseNode(nodes, deps.now(), deps.config);
  if (first) await deps.ingest.hold(first.nodeId);
  return first?.nodeId;
}
