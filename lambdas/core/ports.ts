/**
 * Ports: what the control plane needs from the outside world beyond the registry. AWS adapters
 * and local-mode adapters implement them; handlers receive them injected.
 */
import type { GroupState } from "./group";

/** Asks the scaler to run now, because a resolve found no room. */
export interface ScaleOutRequests {
  /** Requests a scale-out; cheap to call often (implementations debounce). */
  request(reason: string): Promise<void>;
}

/** The master secrets the API checks credentials against. */
export interface SecretSource {
  /** Master secret of the camera keys; undefined turns camera keys off (local mode's default). */
  cameraMaster(): Promise<string | undefined>;
  /** Bearer token for the operator views; undefined leaves them open (local mode's default). */
  operatorToken(): Promise<string | undefined>;
  /** Master secret of the viewer keys; undefined turns viewer access off: every play is refused. */
  viewerMaster(): Promise<string | undefined>;
}

/** The media-node group: an EC2 Auto Scaling group on AWS, nginx processes in local mode. */
export interface FleetPort {
  /** The group's capacity and instances. */
  describe(): Promise<GroupState>;
  /** Raises (or sets) the desired capacity. */
  setDesiredCapacity(desired: number): Promise<void>;
  /** Sets or clears scale-in protection (implementations batch as the API requires). */
  setProtection(instanceIds: readonly string[], protectedFromScaleIn: boolean): Promise<void>;
  /** Terminates exactly this instance; `decrement` lowers the desired capacity with it. */
  terminate(instanceId: string, decrement: boolean): Promise<void>;
  /** Lets a launching instance into service (or abandons it): the launch lifecycle hook's answer. */
  completeLaunch(instanceId: string, result: "CONTINUE" | "ABANDON"): Promise<void>;
  /**
   * Restarts the launch lifecycle hook's timeout for an instance that is still booting and making
   * progress, so that a slow boot is not abandoned; nothing when no launch waits for it.
   */
  extendLaunch(instanceId: string): Promise<void>;
  /** Lets a terminating instance go: the terminate lifecycle hook's answer. */
  completeTermination(instanceId: string): Promise<void>;
}

/** A node that fell silent, as the scaler asks about its machine. */
export interface SilentNode {
  readonly nodeId: string;
  /** Its last sign of life (epoch ms): the silent window runs from here to now. */
  readonly silentSince: number;
}

/**
 * What a node's machine looks like from outside the node, independently of its heartbeats (which
 * a broken control plane, a throttled API or a flood can stop while the node carries streams).
 * - `machine`: the machine is gone or broken (not running, status checks impaired, nginx gone);
 * - `traffic`: it received next to nothing over the silent window (CloudWatch NetworkIn), which a
 *   node carrying cameras cannot do.
 */
export interface MachineEvidence {
  /** For each node, what says its machine is gone; nodes without such a sign are absent from the map. */
  gone(nodes: readonly SilentNode[], now: number): Promise<ReadonlyMap<string, MachineSign>>;
}

/**
 * Bytes a second, averaged over a silent window, below which a node's machine received "next to
 * nothing": a tenth of what one low-bitrate camera (160 kbit/s) sends, well above what an idle
 * machine's own chatter (NTP, DNS, the SSM agent) receives.
 */
export const NEAR_ZERO_BYTES_PER_SECOND = 2000;

/** A sign, from outside a node, that its machine is gone. */
export interface MachineSign {
  readonly kind: "machine" | "traffic";
  /** A sentence for the operator, e.g. "EC2 says the instance is stopped". */
  readonly reason: string;
}

/**
 * Where each node's secret is handed to it, out of band (on AWS: an SSM SecureString that only
 * that instance may read; locally: the node's own files).
 */
export interface NodeCredentials {
  /**
   * Stores `candidate` as the node's secret unless one is stored already, and returns the one
   * stored: however often (and however concurrently) a node is registered, it has one secret.
   */
  issue(nodeId: string, candidate: string): Promise<string>;
  /** Withdraws it (the node is gone). */
  revoke(nodeId: string): Promise<void>;
}

/** Where cameras reach an instance: its public address, from the cloud (never from the node's word). */
export interface InstanceAddresses {
  /** The RTMP base URL of the instance (`rtmp://203.0.113.7:1935/live`), or undefined while it has no address. */
  rtmpBaseUrl(instanceId: string): Promise<string | undefined>;
}

/** Counters and gauges for dashboards and alarms. */
export interface Telemetry {
  /** Adds to a counter. */
  count(name: string, value?: number): void;
  /** Records a level (nodes, streams), optionally for one node. */
  gauge(name: string, value: number, nodeId?: string): void;
  /** Sends what was recorded (once per invocation on AWS). */
  flush(): void;
}

/**
 * The fixed ingest address's one target (on AWS: the Network Load Balancer's target group). Cameras
 * that cannot resolve first connect there, and reach the node it holds.
 */
export interface IngestTarget {
  /**
   * Makes the address lead to this node only: the node is registered, then (once it takes traffic)
   * every other one deregistered, their established connections kept. Idempotent: repeated calls
   * complete a move, and change nothing once the address leads there alone.
   */
  hold(nodeId: string): Promise<void>;
}
