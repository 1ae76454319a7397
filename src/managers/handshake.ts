/**
 * The authkey challenge, both ways, as CPython's `connection.deliver_challenge`
 * and `answer_challenge` (3.12+): the challenger sends `#CHALLENGE#{sha256}` and
 * 40 fresh random bytes; the other side answers `{sha256}` + HMAC-SHA256(authkey,
 * `{sha256}` + bytes); the challenger compares in constant time and answers
 * `#WELCOME#` or `#FAILURE#`. The server challenges first, then the client does,
 * so each side knows the other holds the key before any message is read.
 * Only SHA-256 is accepted (CPython's legacy MD5 is refused).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import { AuthenticationError } from "../errors.ts";
import { FrameReader, writeFrame } from "./frames.ts";

const CHALLENGE = Buffer.from("#CHALLENGE#");
const WELCOME = Buffer.from("#WELCOME#");
const FAILURE = Buffer.from("#FAILURE#");
const DIGEST_PREFIX = Buffer.from("{sha256}");
const MESSAGE_LENGTH = 40;

function digest(authkey: Uint8Array, message: Buffer): Buffer {
  return Buffer.concat([DIGEST_PREFIX, createHmac("sha256", authkey).update(message).digest()]);
}

/** Sends a fresh challenge and checks the answer; throws AuthenticationError (after telling the peer) on a wrong one. */
export async function deliverChallenge(socket: Socket, reader: FrameReader, authkey: Uint8Array): Promise<void> {
  const message = Buffer.concat([DIGEST_PREFIX, randomBytes(MESSAGE_LENGTH)]);
  writeFrame(socket, Buffer.concat([CHALLENGE, message]));
  const response = await reader.next();
  const expected = digest(authkey, message);
  if (response.length !== expected.length || !timingSafeEqual(response, expected)) {
    writeFrame(socket, FAILURE);
    throw new AuthenticationError("digest received was wrong: the peer does not hold this authkey");
  }
  writeFrame(socket, WELCOME);
}

/** Answers the peer's challenge; throws AuthenticationError when the peer rejects the answer. */
export async function answerChallenge(socket: Socket, reader: FrameReader, authkey: Uint8Array): Promise<void> {
  const challenge = await reader.next();
  if (!challenge.subarray(0, CHALLENGE.length).equals(CHALLENGE)) {
    throw new AuthenticationError("the peer did not start the authkey challenge (is it a multiproc manager?)");
  }
  const message = challenge.subarray(CHALLENGE.length);
  if (!message.subarray(0, DIGEST_PREFIX.length).equals(DIGEST_PREFIX)) {
    throw new AuthenticationError("the peer asked for a digest other than {sha256}");
  }
  writeFrame(socket, digest(authkey, message));
  const verdict = await reader.next();
  if (!verdict.equals(WELCOME)) {
    throw new AuthenticationError("digest sent was rejected: the authkey does not match the manager's");
  }
}

/** The authkey as bytes; strings are UTF-8, as Python's `authkey=b"..."` in a port. */
export function authkeyBytes(authkey: string | Uint8Array): Buffer {
  if (typeof authkey === "string") return Buffer.from(authkey, "utf8");
  if (authkey instanceof Uint8Array) return Buffer.from(authkey);
  throw new TypeError(`Expected \`authkey\` to be a string or Uint8Array, got ${typeof authkey}`);
}
