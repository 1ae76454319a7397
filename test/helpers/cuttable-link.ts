/**
 * A TCP relay to a local server that a test can cut and heal, as when a machine's cable is
 * pulled and plugged back: while cut, no byte gets through either way, yet no connection
 * closes, and what was sent meanwhile arrives on healing (TCP would have retransmitted it).
 */
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";

export interface CuttableLink {
  /** redis://127.0.0.1:<relay port> */
  url: string;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function cuttableLink(port: number): Promise<CuttableLink> {
  let isCut = false;
  const held: { to: Socket; chunk: Buffer }[] = [];
  const sockets = new Set<Socket>();
  const relay = (from: Socket, to: Socket) => {
    from.on("data", (chunk: Buffer) => {
      if (isCut) held.push({ to, chunk });
      else to.write(chunk);
    });
    from.on("close", () => to.destroy());
    from.on("error", () => to.destroy());
  };
  const server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    }
    relay(client, upstream);
    relay(upstream, client);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port: relayPort } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${relayPort}`,
    cut: () => {
      isCut = true;
    },
    heal: () => {
      isCut = false;
      for (const { to, chunk } of held.splice(0)) if (!to.destroyed) to.write(chunk);
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}
