// A minimal node:http front for an Apollo Server (the test gateway and the notes subgraph): POST/GET
// /graphql with a JSON body, a per-request context, and response cookies written as separate
// Set-Cookie headers (Apollo's HeaderMap keeps one value per name, so cookies travel outside it).
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { HeaderMap, type ApolloServer, type BaseContext } from "@apollo/server";
import type { Json } from "../support/json.js";

export interface HttpFront {
  url: string;
  server: Server;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * Serves `apollo` (already started) at http://127.0.0.1:<free port>/graphql. `context` builds the
 * request's context from the incoming request; `cookiesOf` returns the Set-Cookie values the
 * request produced (read after execution).
 */
export async function serveApollo<C extends BaseContext>(
  apollo: ApolloServer<C>,
  context: (req: IncomingMessage) => Promise<C>,
  cookiesOf: (ctx: C) => string[] = () => [],
): Promise<HttpFront> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0];
      if (path !== "/graphql") {
        res.writeHead(404, { "content-type": "text/plain" });
        return void res.end("not found");
      }
      const text = req.method === "POST" ? await readBody(req) : "";
      const type = String(req.headers["content-type"] ?? "");
      let body: unknown = undefined;
      try {
        body = text && type.includes("application/json") ? JSON.parse(text) : text || undefined;
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        return void res.end(JSON.stringify({ errors: [{ message: "invalid JSON", extensions: { code: "BAD_REQUEST" } }] }));
      }
      const headers = new HeaderMap();
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
      let ctx: C | null = null;
      const result = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: req.method ?? "POST", headers, search: new URL(req.url ?? "/", "http://localhost").search, body },
        context: async () => (ctx = await context(req)),
      });
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of result.headers) out[k] = v;
      const cookies = ctx ? cookiesOf(ctx) : [];
      if (cookies.length) out["set-cookie"] = cookies;
      res.writeHead(result.status ?? 200, out);
      if (result.body.kind === "complete") return void res.end(result.body.string);
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ message: String(err), extensions: { code: "INTERNAL_SERVER_ERROR" } }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    server,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await apollo.stop();
    },
  };
}

export interface GqlResult {
  status: number;
  data: Json;
  errors: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, Json> }> | undefined;
  headers: Headers;
  /** Every Set-Cookie header of the response, as sent. */
  setCookies: string[];
  raw: string;
}

/** A GraphQL POST over fetch. */
export async function postGraphQL(url: string, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GqlResult> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query, variables }) });
  const raw = await res.text();
  let body: { data?: Json; errors?: GqlResult["errors"] } = {};
  try {
    body = JSON.parse(raw) as typeof body;
  } catch {
    // non-JSON answers are asserted through status/raw
  }
  return { status: res.status, data: body.data ?? null, errors: body.errors, headers: res.headers, setCookies: res.headers.getSetCookie(), raw };
}
