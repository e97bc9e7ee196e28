/**
 * Files holding secrets, as an operator keeps them (mode 0600), for tests of the commands that read
 * a secret from a file.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

/** A directory for secret files, removed after the tests of the block that calls this. */
export function secretFiles(prefix: string): { readonly dir: string; write(name: string, text: string): string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write: (name, text) => {
      const file = path.join(dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    },
  };
}
