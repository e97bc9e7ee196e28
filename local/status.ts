/**
 * `npm run status -- --url URL [--operator-token-file PATH]`: the fleet as a table in the
 * terminal, against local mode or a deployed API, whose operator views need the operator token
 * (the stack's OperatorTokenSecret): from OPERATOR_TOKEN or a file, never the command line.
 */
import {
  type CommandLine,
  type CommandSpec,
  httpUrl,
  OPERATOR_TOKEN,
  readCommandLine,
  readSecret,
  secretFileOption,
  secretNotOnCommandLine,
  UsageError,
} from "../scripts/command-line";

export const STATUS_COMMAND: CommandSpec = {
  name: "status",
  synopsis: "npm run status -- --url URL [--operator-token-file PATH]",
  summary: "The fleet's nodes, streams and recent events as tables, from local mode or a deployed API.",
  options: {
    url: {
      value: "URL",
      required: true,
      description: "the control plane's base URL (local mode's, or the stack's ApiUrl output)",
    },
    [OPERATOR_TOKEN.fileOption]: secretFileOption(OPERATOR_TOKEN, "sent as the bearer token of the operator views"),
  },
  withdrawn: { token: secretNotOnCommandLine(OPERATOR_TOKEN) },
};

/** The variable that held the token before OPERATOR_TOKEN, which local mode reads too. */
const OLD_TOKEN_ENV = "FLEET_OPERATOR_TOKEN";

/** Where to ask, and with what token. */
export interface StatusOptions {
  readonly base: string;
  readonly token?: string;
}

/**
 * Reads the checked command line, and the token from `env` or its file.
 * @throws UsageError for a URL that is not http(s), or a token given twice, unreadable or in the old variable
 */
export function readStatusOptions(line: CommandLine, env: NodeJS.ProcessEnv = process.env): StatusOptions {
  if (env[OLD_TOKEN_ENV] !== undefined && env[OPERATOR_TOKEN.env] === undefined) {
    throw new UsageError(`${OLD_TOKEN_ENV} is now ${OPERATOR_TOKEN.env}`);
  }
  return { base: httpUrl(line, "url") as string, token: readSecret(line, OPERATOR_TOKEN, env) };
}

interface NodeRow {
  nodeId: string;
  state: string;
  cpuPercent: number | null;
  estimatedCpuPercent: number;
  streams: number;
  reservations: number;
  viewers: number;
  slotLimit: number;
  full: boolean;
  protectedFromScaleIn: boolean;
  idleSince: string | null;
}
interface StreamRow {
  stream: string;
  nodeId: string;
  state: string;
  viewers: number;
}
interface EventRow {
  at: string;
  kind: string;
  message: string;
}

/** Lays rows out under a header, each column as wide as its widest cell. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** The status report as text. */
export function formatStatus(
  nodes: readonly NodeRow[],
  streams: readonly StreamRow[],
  events: readonly EventRow[],
): string {
  const count = (state: string) => nodes.filter((n) => n.state === state).length;
  const live = streams.filter((s) => s.state === "LIVE").length;
  const summary =
    `${count("ACTIVE")} active, ${count("PENDING")} pending, ${count("DRAINING")} draining, ${count("DEAD")} dead nodes; ` +
    `${live} live streams, ${streams.length - live} reservations; ` +
    `${streams.reduce((sum, s) => sum + s.viewers, 0)} viewers`;
  const nodeTable = formatTable(
    ["NODE", "STATE", "CPU", "EST.CPU", "STREAMS", "RESERVED", "VIEWERS", "ROOM", "PROTECTED", "IDLE SINCE"],
    nodes.map((n) => [
      n.nodeId,
      n.state,
      n.cpuPercent === null ? "-" : `${n.cpuPercent.toFixed(1)}%`,
      `${n.estimatedCpuPercent.toFixed(1)}%`,
      String(n.streams),
      String(n.reservations),
      String(n.viewers),
      n.full ? "full" : String(n.slotLimit - n.streams - n.reservations),
      n.protectedFromScaleIn ? "yes" : "no",
      n.idleSince ?? "",
    ]),
  );
  const streamTable = formatTable(
    ["STREAM", "NODE", "STATE", "VIEWERS"],
    streams.map((s) => [s.stream, s.nodeId, s.state, String(s.viewers)]),
  );
  const eventTable = formatTable(
    ["TIME", "KIND", "WHAT HAPPENED"],
    events.slice(0, 10).map((e) => [e.at, e.kind, e.message]),
  );
  return `${summary}\n\n${nodeTable}\n\nStreams:\n${streamTable}\n\nRecent events:\n${eventTable}`;
}

async function fetchJson<T>(base: string, path: string, token: string | undefined): Promise<T> {
  const response = await fetch(`${base}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!response.ok) {
    const body = await response.text();
    throw new Error(`${path}: HTTP ${response.status} ${body.slice(0, 200)}`);
  }
  return (await response.json()) as T;
}

async function main(): Promise<number> {
  const read = readCommandLine(STATUS_COMMAND, process.argv.slice(2), (line) => readStatusOptions(line));
  if ("exitCode" in read) return read.exitCode;
  const { base, token } = read.options;
  const [{ nodes }, { streams }, { events }] = await Promise.all([
    fetchJson<{ nodes: NodeRow[] }>(base, "/nodes", token),
    fetchJson<{ streams: StreamRow[] }>(base, "/streams", token),
    fetchJson<{ events: EventRow[] }>(base, "/events", token),
  ]);
  console.log(formatStatus(nodes, streams, events));
  return 0;
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: Error) => {
      console.error(`status: ${error.message}`);
      process.exitCode = 1;
    },
  );
}
