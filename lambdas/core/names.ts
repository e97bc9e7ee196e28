/** Names the API accepts. Stream names become RTMP paths and nginx arguments: keep them plain. */

/** A stream name: 1-128 of `[A-Za-z0-9_.-]`, and not `.` or `..` (they would be path segments). */
export const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** A node id: an EC2 instance id or a local node name. */
export const NODE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** nginx-rtmp's `clientid`: the number of a connection on its node, in decimal. */
export const CLIENT_ID = /^[0-9]{1,20}$/;

/** Why a stream name is refused, or undefined when it is acceptable. */
export function streamNameProblem(name: string | undefined): string | undefined {
  if (name === undefined || name === "") return "the stream name is missing";
  if (name.length > 128) return `the stream name is ${name.length} characters long; at most 128 are allowed`;
  if (!STREAM_NAME.test(name)) return "the stream name may contain only letters, digits, '_', '.' and '-'";
  if (name === "." || name === "..") return "the stream name may not be '.' or '..'";
  return undefined;
}
