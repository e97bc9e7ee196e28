/**
 * Captures what the loggers write to stdout and stderr, for tests that read the logs: Powertools
 * writes one JSON object per line.
 */

/** The captured output, and a way to stop capturing. */
export interface LogCapture {
  /** Everything written so far, as written. */
  text(): string;
  /** Every JSON line written so far, parsed. */
  lines(): Record<string, unknown>[];
  restore(): void;
}

/** Starts capturing stdout and stderr; call `restore` in a `finally`. */
export function captureLogs(): LogCapture {
  const output: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    output.push(String(chunk));
    return true;
  };
  const writes = [
    jest.spyOn(process.stdout, "write").mockImplementation(capture),
    jest.spyOn(process.stderr, "write").mockImplementation(capture),
  ];
  const text = () => output.join("");
  return {
    text,
    lines: () =>
      text()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      for (const write of writes) write.mockRestore();
    },
  };
}
