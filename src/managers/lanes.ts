/**
 * The server's side of the shared-memory lanes (shm-channel.ts): one loop serves
 * every lane. It takes what is there, looks a little longer when nothing is (a
 * client in a loop sends its next call within microseconds), yields to the event
 * loop between rounds (sockets, timers, the replies of blocking calls), and sleeps
 * on the doorbell when every lane stays quiet.
 */
import { Doorbell, NOTHING, ServerChannel } from "./shm-channel.ts";

/** How long the loop looks for the next request before it sleeps: longer than a client takes to wake up and call again. */
const LOOK_MS = 1;
/** Frames taken from one lane before the next lane's turn. */
const FRAMES_PER_TURN = 64;

export interface Lane {
  readonly channel: ServerChannel;
  /** Serves one request frame. */
  onFrame(frame: Buffer): void;
  /** Ends the client's connection (its lane broke the protocol). */
  drop(): void;
}

export class LaneServer {
  #doorbell: Doorbell | null = null;
  readonly #lanes = new Set<Lane>();
  #polling = false;
  #stopped = false;

  /** Opens a lane for one client; `serve` makes its handlers from the channel. */
  open(serve: (channel: ServerChannel) => Omit<Lane, "channel">): Lane {
    this.#doorbell ??= new Doorbell();
    const channel = new ServerChannel(this.#doorbell);
    const lane: Lane = { channel, ...serve(channel) };
    this.#lanes.add(lane);
    if (!this.#polling) void this.#poll();
    return lane;
  }

  /** Closes a client's lane (its socket closed). */
  close(lane: Lane): void {
    this.#lanes.delete(lane);
    lane.channel.close();
  }

  /** Ends the loop (the server stops). */
  stop(): void {
    this.#stopped = true;
    this.#doorbell?.wake();
  }

  async #poll(): Promise<void> {
    this.#polling = true;
    try {
      while (this.#lanes.size > 0 && !this.#stopped) {
        let served = this.#drain();
        if (served === 0) served = this.#look();
        if (served > 0) {
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        const doorbell = this.#doorbell!;
        const seq = doorbell.seq();
        if (this.#drain() > 0) continue;
        await doorbell.sleep(seq);
      }
    } finally {
      this.#polling = false;
    }
  }

  #drain(): number {
    let served = 0;
    for (const lane of this.#lanes) {
      try {
        for (let i = 0; i < FRAMES_PER_TURN; i++) {
          const frame = lane.channel.take();
          if (frame === NOTHING || typeof frame === "symbol") break;
          lane.onFrame(frame);
          served++;
        }
      } catch {
        // A ring its client corrupted: that client's connection ends, the others go on.
        this.#lanes.delete(lane);
        lane.drop();
      }
    }
    return served;
  }

  #look(): number {
    const until = performance.now() + LOOK_MS;
    do {
      for (let i = 0; i < 64; i++) {
        const served = this.#drain();
        if (served > 0) return served;
      }
    } while (performance.now() < until);
    return 0;
  }
}
