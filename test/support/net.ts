import { connect, createServer } from "node:net";

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });

/** Whether something accepts connections on 127.0.0.1:port. */
export const portOpen = (port: number): Promise<boolean> =>
  new Promise((ok) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), ok(true)));
    s.once("error", () => ok(false));
  });
