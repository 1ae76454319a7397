/**
 * Where a manager serves: `{ host, port }` for TCP (port 0 asks the OS for a free
 * port) or a string, the path of a Unix socket. A path starting with "\0" is a
 * Linux abstract socket: it leaves no file behind, which is why a local manager
 * uses one by default (CPython makes a file in a temporary directory).
 */
import { randomBytes } from "node:crypto";
import type { ListenOptions, NetConnectOpts } from "node:net";

export type Address = { host: string; port: number } | string;

export function isAddress(value: unknown): value is Address {
  if (typeof value === "string") return value.length > 0 && value.length < 108;
  if (typeof value !== "object" || value === null) return false;
  const { host, port } = value as Record<string, unknown>;
  return typeof host === "string" && typeof port === "number" && Number.isInteger(port) && port >= 0 && port <= 65535;
}

/** Validates a user-given address; throws a TypeError that shows both accepted forms. */
export function checkAddress(value: unknown, what = "address"): Address {
  if (isAddress(value)) return value;
  throw new TypeError(
    `Expected \`${what}\` to be { host: string, port: number } (port 0..65535; 0 picks a free port) ` +
      `or a Unix socket path (under 108 bytes), got ${JSON.stringify(value) ?? typeof value}`,
  );
}

/** A fresh abstract Unix socket address for a local manager. */
export function localAddress(): string {
  return `\0multiproc-manager-${process.pid}-${randomBytes(6).toString("hex")}`;
}

export function listenOptions(address: Address): ListenOptions {
  return typeof address === "string" ? { path: address } : { host: address.host, port: address.port };
}

export function connectOptions(address: Address): NetConnectOpts {
  return typeof address === "string" ? { path: address } : { host: address.host, port: address.port };
}

/** A key equal for equal addresses. */
export function addressKey(address: Address): string {
  return typeof address === "string" ? `unix:${address}` : `tcp:${address.host}:${address.port}`;
}

/** How an address reads in an error message. */
export function describeAddress(address: Address): string {
  if (typeof address !== "string") return `${address.host}:${address.port}`;
  return address.startsWith("\0") ? `@${address.slice(1)}` : address;
}
