/**
 * `npm run status -- --url URL [--operator-token-file PATH] [--json] [--watch SECONDS]`: the fleet
 * as tables in the terminal (or JSON for scripts), once or redrawn in place, against local mode or
 * a deployed API, whose operator views need the operator token (the stack's OperatorTokenSecret):
 * from OPERATOR_TOKEN or a file, never the command line. Colours only on a terminal.
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
  wholeNumber,
} from "../scripts/command-line";

export const STATUS_COMMAND: CommandSpec = {
  name: "status",
  synopsis: "npm run status -- --url URL [--operator-token-file PATH] [--json] [--watch SECONDS]",
  summary: "The fleet's nodes, streams and recent events as tables, from local mode or a deployed API.",
  options: {
    url: {
      value: "URL",
      required: true,
      description: "the control plane's base URL (local mode's, or the stack's ApiUrl output)",
    },
    [OPERATOR_TOKEN.fileOption]: secretFileOption(OPERATOR_TOKEN, "sent as the bearer token of the operator views"),
    json: {
      boolean: true,
      description: "print the nodes, streams and events as JSON (one line per refresh with --watch)",
    },
    watch: {
      value: "SECONDS",
      description: "refresh every SECONDS (1 to 3600) until Ctrl-C, redrawn in place on a terminal",
    },
  },
  withdrawn: { token: secretNotOnCommandLine(OPERATOR_TOKEN) },
};

/** The variable that held the token before OPERATOR_TOKEN, which local mode reads too. */
const OLD_TOKEN_ENV = "FLEET_OPERATOR_TOKEN";

/** Where to ask, and with what token. */
export interface StatusOptions {
  readonly base: string;
  readonly token?: string;
  /** JSON instead of tables. */
  readonly json: boolean;
  /** Seconds between refreshes; undefined: once. */
  readonly watchSeconds?: number;
}

/**
 * Reads the checked command line, and the token from `env` or its file.
 * @throws UsageError for a URL that is not http(s), or a token given twice, unreadable or in the old variable
 */
export function readStatusOptions(line: CommandLine, env: NodeJS.ProcessEnv = process.env): StatusOptions {
  if (env[OLD_TOKEN_ENV] !== undefined && env[OPERATOR_TOKEN.env] === undefined) {
    throw new UsageError(`${OLD_TOKEN_ENV} is now ${OPERATOR_TOKEN.env}`);
  }
  return {
    base: httpUrl(line, "url") as string,
    token: readSecret(line, OPERATOR_TOKEN, env),
    json: line.switches.has("json"),
    watchSeconds: line.values.watch === undefined ? undefined : wholeNumber(line, "watch", 1, 3600),
  };
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
/** Local mode's fixed ingest address and the node it sends new cameras to (null: none has room). */
interface IngestRow {
  address: string;
  target: string | null;
}

/** A cell as printed, given its column: the cell itself, or wrapped in a colour. */
type Paint = (cell: string, column: number) => string;
const plain: Paint = (cell) => cell;

/**
 * Lays rows out under a header, each column as wide as its widest cell. `paint` wraps the body's
 * cells after padding, so colour codes do not count toward a column's width.
 */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  paint: Paint = plain,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[], painted: Paint) =>
    cells
      .map((c, i) => painted(c.padEnd(widths[i] ?? 0), i))
      .join("  ")
      .trimEnd();
  return [
    line(header, plain),
    line(
      widths.map((w) => "-".repeat(w)),
      plain,
    ),
    ...rows.map((r) => line(r, paint)),
  ].join("\n");
}

/** ANSI colours of the states: green in service, yellow on the way in or out, red out of placement. */
const STATE_COLOURS: Readonly<Record<string, number>> = {
  ACTIVE: 32,
  LIVE: 32,
  PENDING: 33,
  RESERVED: 33,
  DRAINING: 33,
  SILENT: 31,
  DEAD: 31,
};

/** Paints the state column (`column`) of a table, when colours are on. */
function statePaint(column: number, colour: boolean): Paint {
  return (cell, i) => {
    const code = STATE_COLOURS[cell.trim()];
    return colour && i === column && code !== undefined ? `\x1b[${code}m${cell}\x1b[0m` : cell;
  };
}

/** The status report as text; `ingest` when the control plane has a fixed ingest address (local mode). */
export function formatStatus(
  nodes: readonly NodeRow[],
  streams: readonly StreamRow[],
  events: readonly EventRow[],
  colour = false,
  ingest?: IngestRow,
): string {
  const count = (state: string) => nodes.filter((n) => n.state === state).length;
  const live = streams.filter((s) => s.state === "LIVE").length;
  const summary =
    `${count("ACTIVE")} active, ${count("PENDING")} pending, ${count("DRAINING")} draining, ${count("DEAD")} dead nodes; ` +
    `${live} live streams, ${streams.length - live} reservations; ` +
    `${streams.reduce((sum, s) => sum + s.viewers, 0)} viewers` +
    (ingest
      ? `\nfixed ingest address: ${ingest.address}/<stream> -> ${ingest.target ?? "nowhere (no node has room)"}`
      : "");
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
    statePaint(1, colour),
  );
  const streamTable = formatTable(
    ["STREAM", "NODE", "STATE", "VIEWERS"],
    streams.map((s) => [s.stream, s.nodeId, s.state, String(s.viewers)]),
    statePaint(2, colour),
  );
  const eventTable = formatTable(
    ["TIME", "KIND", "WHAT HAPPENED"],
    events.slice(0, 10).map((e) => [e.at, e.kind, e.message]),
  );
  return `${summary}\n\n${nodeTable}\n\nStreams:\n${streamTable}\n\nRecent events:\n${eventTable}`;
}

/** GETs a view; undefined when `optional` and the control plane has no such route (404). */
async function fetchJson<T>(base: string, path: string, token: string | undefined): Promise<T>;
async function fetchJson<T>(
  base: string,
  path: string,
  token: string | undefined,
  optional: true,
): Promise<T | undefined>;
async function fetchJson<T>(base: string, path: string, token: string | undefined, optional = false) {
  const url = `${base}${path}`;
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} }).catch(
    (error: Error & { cause?: { code?: string; message?: string } }) => {
      throw new Error(`cannot reach ${url}: ${error.cause?.code ?? error.cause?.message ?? error.message}`);
    },
  );
  if (optional && response.status === 404) return undefined;
  if (!response.ok) {
    const body = await response.text();
    throw new Error(`${path}: HTTP ${response.status} ${body.slice(0, 200)}`);
  }
  return (await response.json()) as T;
}

/** One report: the three views, as JSON on one line or as tables. */
async function report({ base, token, json }: StatusOptions, colour: boolean): Promise<string> {
  const [{ nodes }, { streams }, { events }, local] = await Promise.all([
    fetchJson<{ nodes: NodeRow[] }>(base, "/nodes", token),
    fetchJson<{ streams: StreamRow[] }>(base, "/streams", token),
    fetchJson<{ events: EventRow[] }>(base, "/events", token),
    // Only local mode serves it: a deployed API answers 404.
    fetchJson<{ ingest?: IngestRow }>(base, "/local/nodes", token, true),
  ]);
  const ingest = local?.ingest;
  return json
    ? JSON.stringify({ nodes, streams, events, ingest })
    : formatStatus(nodes, streams, events, colour, ingest);
}

/**
 * Reports every `watchSeconds` until interrupted. On a terminal each table replaces the last;
 * otherwise (a log, a pipe) each is printed after a line with its time. A failed refresh is said
 * and the next one tried: a watch outlives a restart of what it watches.
 */
async function watch(options: StatusOptions, seconds: number, terminal: boolean, colour: boolean): Promise<never> {
  for (;;) {
    try {
      const text = await report(options, colour);
      if (options.json) console.log(text);
      else if (terminal) process.stdout.write(`\x1b[H\x1b[2J${text}\n\nevery ${seconds} s; Ctrl-C stops\n`);
      else console.log(`--- ${new Date().toISOString()}\n${text}\n`);
    } catch (error) {
      console.error(`status: ${(error as Error).message} (trying again in ${seconds} s)`);
    }
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  }
}

async function main(): Promise<number> {
  const read = readCommandLine(STATUS_COMMAND, process.argv.slice(2), (line) => readStatusOptions(line));
  if ("exitCode" in read) return read.exitCode;
  const options = read.options;
  const terminal = process.stdout.isTTY === true;
  // Colours on a terminal only, unless NO_COLOR (no-color.org) says otherwise.
  const colour = terminal && process.env.NO_COLOR === undefined;
  if (options.watchSeconds !== undefined) await watch(options, options.watchSeconds, terminal, colour);
  console.log(await report(options, colour));
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
