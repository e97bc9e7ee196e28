/**
 * A local certificate authority for tests of the node's TLS: a root, a chain of intermediates, and
 * a server certificate for 127.0.0.1 signed by the last of them, made with the openssl command.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** What a TLS server on 127.0.0.1 needs, and what its clients must trust. */
export interface TlsChain {
  /** The root certificate (PEM file): what a client trusts. */
  readonly rootFile: string;
  /** The server's private key (PEM). */
  readonly key: string;
  /** The server's certificate followed by the intermediates, leaf first (PEM): what it sends. */
  readonly cert: string;
}

const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });

/** Creates, in `dir`, a root, `intermediates` intermediate CAs under it, and a server certificate. */
export function localTlsChain(dir: string, intermediates: number): TlsChain {
  const file = (name: string) => path.join(dir, name);
  const caExtensions = file("ca.ext");
  writeFileSync(caExtensions, "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n");
  const serverExtensions = file("server.ext");
  // nginx checks the name of a proxied IP address against the certificate's DNS names.
  writeFileSync(
    serverExtensions,
    "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost\n",
  );
  const newKey = (name: string) =>
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", file(`${name}.key`)]);
  newKey("root");
  openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    file("root.key"),
    "-subj",
    "/CN=rtmp-fleet test root",
    "-days",
    "2",
    "-out",
    file("root.pem"),
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  /** Signs `name`'s key with `issuer`'s, with the given extensions. */
  const sign = (name: string, subject: string, issuer: string, extensions: string) => {
    newKey(name);
    openssl(["req", "-new", "-key", file(`${name}.key`), "-subj", `/CN=${subject}`, "-out", file(`${name}.csr`)]);
    openssl([
      "x509",
      "-req",
      "-in",
      file(`${name}.csr`),
      "-CA",
      file(`${issuer}.pem`),
      "-CAkey",
      file(`${issuer}.key`),
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      extensions,
      "-out",
      file(`${name}.pem`),
    ]);
  };
  let issuer = "root";
  const chain: string[] = [];
  for (let i = 1; i <= intermediates; i++) {
    sign(`intermediate${i}`, `rtmp-fleet test intermediate ${i}`, issuer, caExtensions);
    chain.unshift(readFileSync(file(`intermediate${i}.pem`), "utf8"));
    issuer = `intermediate${i}`;
  }
  sign("server", "127.0.0.1", issuer, serverExtensions);
  return {
    rootFile: file("root.pem"),
    key: readFileSync(file("server.key"), "utf8"),
    cert: [readFileSync(file("server.pem"), "utf8"), ...chain].join(""),
  };
}
