// HTTP layer: Apollo Server 5 at /graphql on a plain node:http server (no framework), plus
// /.well-known/jwks.json and /health. Bodies are size-limited before parsing, unexpected errors
// are masked, cookies set by resolvers are written here, and shutdown drains in-flight requests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginInlineTraceDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { unwrapResolverError } from "@apollo/server/errors";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import type { GraphQLFormattedError } from "graphql";
import { withAfterResponse } from "./core/after-response.js";
import type { Config } from "./config/index.js";
import type { Logger } from "./core/logger.js";
import { systemClock, type Clock } from "./core/clock.js";
import { AppError, CORE } from "./core/errors.js";
import { createApp, type App } from "./app.js";
import { buildContext, type GraphQLContext } from "./context.js";
import { buildSchema } from "./schema.js";
import { createPasskeyPage } from "./features/webauthn/webauthn.page.js";
import { isDatabaseDown, openDatabase, type Database } from "./db/connection.js";

/** Codes of Apollo/graphql-js whose messages are safe to show as they are. */
const PASSTHROUGH = new Set(["GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "BAD_REQUEST", "PERSISTED_QUERY_NOT_FOUND", "PERSISTED_QUERY_NOT_SUPPORTED", "OPERATION_RESOLUTION_FAILURE"]);

export function makeFormatError(log: Logger, opts: { hideSchema?: boolean } = {}) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // graphql-js's token limit names the limit ("more that 2000 tokens"): say as little as the other limits.
    if (/^Syntax Error: Document contains more tha[nt] \d+ tokens/.test(formatted.message)) formatted = { ...formatted, message: "Syntax Error: Query validation error.", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } };
    // Apollo hides field suggestions but not enum ones ("Did you mean the enum value …?").
    if (opts.hideSchema) formatted = { ...formatted, message: formatted.message.replace(/ ?(?:Did you mean [^?]*|\[Suggestion hidden\])\?/g, "") };
    const original = unwrapResolverError(error);
    const { stacktrace: _s, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    if (original instanceof AppError) return { ...formatted, message: original.message, extensions: { ...original.extensions } };
    if (original instanceof Error && original.message.startsWith("The _entities resolver tried to load an entity for type")) {
      // A client (gateway) mistake, not ours: @apollo/subgraph reports it as a plain Error.
      return { message: "A representation names an unknown entity type.", path: formatted.path, extensions: { code: CORE.BAD_USER_INPUT.code } };
    }
    if (isDatabaseDown(original)) return { message: CORE.DATABASE_UNAVAILABLE.message, path: formatted.path, extensions: { code: CORE.DATABASE_UNAVAILABLE.code } };
    if (typeof extensions.code === "string" && PASSTHROUGH.has(extensions.code)) return { ...formatted, extensions };
    log.error({ err: original }, "unexpected error");
    return { message: CORE.INTERNAL_SERVER_ERROR.message, ...(formatted.path ? { path: formatted.path } : {}), extensions: { code: CORE.INTERNAL_SERVER_ERROR.code } };
  };
}

function clientIp(req: IncomingMessage, trustProxyHops: number): string {
  const socketIp = req.socket.remoteAddress ?? "";
  if (trustProxyHops <= 0) return socketIp;
  const chain = String(req.headers["x-forwarded-for"] ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  return chain[chain.length - trustProxyHops] ?? chain[0] ?? socketIp;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) return Promise.reject(new BodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BodyTooLarge());
        req.pause();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

const errorBody = (message: string, code: string) => ({ errors: [{ message, extensions: { code } }] });

export interface RunningServer {
  url: string;
  app: App;
  db: Database;
  server: Server;
  /** Resolves once the database is connected and bootstrapped (indexes, roles, signing key). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export async function startServer(opts: { config: Config; log: Logger; clock?: Clock; dbName?: string }): Promise<RunningServer> {
  const { config, log } = opts;
  const db = await openDatabase(config, log, opts.dbName);
  const app = createApp(config, db.conn, log, opts.clock ?? systemClock);
  const schema = buildSchema(config);
  const httpServer = createServer();
  const passkeyPage = config.webauthn.enabled ? createPasskeyPage(app.features.webauthn.rp, config.productName) : null;
  httpServer.requestTimeout = config.http.requestTimeoutMs;
  httpServer.headersTimeout = Math.min(config.http.requestTimeoutMs, 10_000);

  const armor = new ApolloArmor({
    maxDepth: { n: config.graphql.maxDepth, exposeLimits: false, flattenFragments: true },
    maxAliases: { n: config.graphql.maxAliases, exposeLimits: false },
    costLimit: { maxCost: config.graphql.maxCost, exposeLimits: false },
    maxTokens: { enabled: false }, // graphql-js counts tokens instead (see parseOptions): armor's plugin answers 500
    maxDirectives: { n: config.graphql.maxDirectives, exposeLimits: false },
    blockFieldSuggestion: { enabled: !config.graphql.introspection },
  }).protect();
  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.graphql.introspection,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // main.ts owns the signals: Apollo's own handler would re-raise SIGTERM before the database
    // (and the embedded FerretDB) is closed.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: !config.graphql.introspection,
    formatError: makeFormatError(log, { hideSchema: !config.graphql.introspection }),
    parseOptions: { maxTokens: config.graphql.maxTokens },
    validationRules: armor.validationRules,
    plugins: [
      ...(armor.plugins as ApolloServerPlugin<GraphQLContext>[]), // graphql-armor's typings predate Apollo 5's ESM types
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Federated tracing would hand per-resolver timings to anyone who asks for them by header.
      ApolloServerPluginInlineTraceDisabled(),
      ...(config.env === "production" ? [ApolloServerPluginLandingPageDisabled()] : []),
    ],
  });
  await apollo.start();

  const cors = new Set(config.http.corsOrigins);
  const graphql = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const origin = req.headers.origin;
    const corsHeaders: Record<string, string> =
      origin && cors.has(origin)
        ? { "access-control-allow-origin": origin, "access-control-allow-credentials": "true", vary: "Origin" }
        : {};
    if (req.method === "OPTIONS") {
      res.writeHead(204, { ...corsHeaders, "access-control-allow-methods": "GET, POST", "access-control-allow-headers": "content-type, authorization, apollo-require-preflight, x-apollo-operation-name", "access-control-max-age": "600" });
      return void res.end();
    }
    if (req.method !== "GET" && req.method !== "POST") return void sendJson(res, 405, errorBody("Method not allowed.", "METHOD_NOT_ALLOWED"), { allow: "GET, POST" });
    let body: unknown = undefined;
    try {
      const text = req.method === "POST" ? await readBody(req, config.http.bodyLimitBytes) : "";
      const type = String(req.headers["content-type"] ?? "");
      body = text && type.includes("application/json") ? JSON.parse(text) : text || undefined;
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader("connection", "close");
        return void sendJson(res, 413, errorBody("Request body too large.", "PAYLOAD_TOO_LARGE"), corsHeaders);
      }
      return void sendJson(res, 400, errorBody("The request body is not valid JSON.", "BAD_REQUEST"), corsHeaders);
    }
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
    const url = new URL(req.url ?? "/", "http://localhost");
    let ctx: GraphQLContext | null = null;
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method, headers, search: url.search, body },
      context: async () => {
        if (!db.isReady()) throw new AppError(CORE.DATABASE_UNAVAILABLE);
        try {
          ctx = await buildContext(app, { headers: req.headers, ip: clientIp(req, config.http.trustProxyHops) });
          return ctx;
        } catch (err) {
          throw isDatabaseDown(err) ? new AppError(CORE.DATABASE_UNAVAILABLE) : err;
        }
      },
    });
    const out: Record<string, string | string[]> = { ...corsHeaders, "cache-control": "no-store" };
    for (const [k, v] of result.headers) out[k] = v;
    const cookies = (ctx as GraphQLContext | null)?.cookies.outgoing ?? [];
    if (cookies.length) out["set-cookie"] = cookies;
    res.writeHead(result.status ?? 200, out);
    if (result.body.kind === "complete") return void res.end(result.body.string);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  };

  httpServer.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0];
    const done = (p: Promise<void> | void) =>
      Promise.resolve(p).catch((err: unknown) => {
        log.error({ err }, "request failed");
        if (!res.headersSent) sendJson(res, 500, errorBody(CORE.INTERNAL_SERVER_ERROR.message, CORE.INTERNAL_SERVER_ERROR.code));
        else res.destroy();
      });
    // Mail caused by a request goes out after its response is written (core/after-response.ts).
    if (path === "/graphql") return void done(withAfterResponse(() => graphql(req, res)));
    if (path === "/.well-known/jwks.json" && req.method === "GET") return sendJson(res, 200, app.keys.jwks(), { "cache-control": "public, max-age=60" });
    if (passkeyPage?.(path ?? "", req.method ?? "", res)) return;
    if (path === "/health" && req.method === "GET") {
      const up = db.isReady();
      return sendJson(res, up ? 200 : 503, { status: up ? "ok" : "degraded", database: up ? "up" : "down" });
    }
    sendJson(res, 404, errorBody("Not found.", "NOT_FOUND"));
  });

  await new Promise<void>((resolve) => httpServer.listen(config.http.port, config.http.host, resolve));
  const addr = httpServer.address() as AddressInfo;
  const host = config.http.host === "0.0.0.0" || config.http.host === "::" ? "127.0.0.1" : config.http.host;
  const url = `http://${host}:${addr.port}`;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      const force = setTimeout(() => httpServer.closeAllConnections(), config.http.shutdownGraceMs);
      await apollo.stop(); // the drain plugin stops accepting and waits for in-flight requests
      clearTimeout(force);
      await app.stop();
      await db.close();
    })());

  const ready = db.connect(() => app.onDatabaseReady()).then(() => app.startBackgroundJobs());
  ready.catch((err: unknown) => log.fatal({ err: (err as Error).message }, "database setup failed"));
  try {
    // Serve at once; wait a little for the database so a healthy start is ready when this returns.
    await Promise.race([ready, new Promise((r) => setTimeout(r, config.database.serverSelectionTimeoutMs + 2000))]);
  } catch (err) {
    await close();
    throw err;
  }
  log.info({ url: `${url}/graphql` }, "listening");
  return { url, app, db, server: httpServer, ready, close };
}
