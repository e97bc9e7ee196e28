import { addressInCidrs, isIpv4Cidr } from "../../lambdas/core/cidrs";

describe("IPv4 CIDR blocks", () => {
  it.each([
    ["203.0.113.0/24", true],
    ["0.0.0.0/0", true],
    ["10.1.2.3/32", true],
    ["10.1.2.3/8", false], // host bits set: EC2 refuses it
    ["256.0.0.0/8", false],
    ["10.0.0.0/33", false],
    ["10.0.0.0", false],
    ["10.0.0.0/8/8", false],
    ["2001:db8::/32", false],
  ])("%s is a block: %s", (value, expected) => {
    expect(isIpv4Cidr(value)).toBe(expected);
  });

  it.each([
    ["203.0.113.0", ["203.0.113.0/24"], true],
    ["203.0.113.255", ["203.0.113.0/24"], true],
    ["203.0.114.0", ["203.0.113.0/24"], false],
    ["198.51.100.7", ["203.0.113.0/24", "198.51.100.0/29"], true],
    ["198.51.100.8", ["203.0.113.0/24", "198.51.100.0/29"], false],
    ["8.8.8.8", ["0.0.0.0/0"], true],
    ["::ffff:127.0.0.1", ["127.0.0.0/8"], true],
    ["::1", ["0.0.0.0/0"], false],
    ["203.0.113.1", [], false],
    ["203.0.113.300", ["0.0.0.0/0"], false],
    ["not an address", ["0.0.0.0/0"], false],
  ])("%s is inside %j: %s", (address, cidrs, expected) => {
    expect(addressInCidrs(address, cidrs)).toBe(expected);
  });
});
