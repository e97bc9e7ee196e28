import { renderIngestConfig } from "../../local/ingest-proxy";
import { STREAM_MODULE } from "../../local/nginx-fleet";

describe("the fixed ingest address's nginx config", () => {
  const toNode = renderIngestConfig("/run/x/ingest", 1935, { nodeId: "local-2", rtmpPort: 40123 });
  const toNowhere = renderIngestConfig("/run/x/ingest", 1935, undefined);

  it("loads Debian's stream module and listens on 127.0.0.1 only", () => {
    for (const config of [toNode, toNowhere]) {
      expect(config).toContain(`load_module ${STREAM_MODULE};`);
      expect(config.match(/listen .*;/g)).toEqual(["listen 127.0.0.1:1935;"]);
    }
  });

  it("passes every new connection to the one node placement chose", () => {
    expect(toNode.match(/proxy_pass .*;/g)).toEqual(["proxy_pass 127.0.0.1:40123;"]);
  });

  it("closes connections at once when no node has room, so that cameras retry", () => {
    expect(toNowhere).not.toContain("proxy_pass");
    expect(toNowhere).toContain('return "";');
  });

  it("never bounds how long an old worker keeps its cameras after a reload", () => {
    expect(toNode).not.toContain("worker_shutdown_timeout");
  });

  it("keeps its pid file and error log in its own directory", () => {
    expect(toNode).toContain("pid /run/x/ingest/run/ingest.pid;");
    expect(toNode).toContain("error_log /run/x/ingest/log/ingest-error.log warn;");
  });
});
