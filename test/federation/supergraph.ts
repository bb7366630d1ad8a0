// A real federated graph in the test process: the subgraphs' SDL (fetched over HTTP with
// `{ _service { sdl } }`, as `rover subgraph introspect` does) composed with @apollo/composition,
// served by @apollo/gateway behind an Apollo Server on a free port. The gateway forwards the
// client's Authorization and Cookie headers to every subgraph and hands the Set-Cookie headers of
// the subgraphs' responses back to the client.
import type { IncomingMessage } from "node:http";
import { ApolloServer } from "@apollo/server";
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from "@apollo/gateway";
import { composeServices } from "@apollo/composition";
import { parse } from "graphql";
import { postGraphQL, serveApollo, type GqlResult, type HttpFront } from "./http.js";

// The gateway otherwise reports usage data to Apollo (OpenTelemetry export to apollographql.com).
process.env.APOLLO_TELEMETRY_DISABLED = "true";

/** Headers of the client's request that every subgraph receives. */
export const FORWARDED_HEADERS = ["authorization", "cookie"] as const;

export interface GatewayContext {
  /** The client's request headers (lower-case names). */
  incoming: IncomingMessage["headers"];
  /** Set-Cookie values returned by subgraphs during this request, passed on to the client. */
  setCookies: string[];
}

export interface SubgraphCall {
  subgraph: string;
  query: string;
  variables: Record<string, unknown>;
  headers: Record<string, string>;
}

export interface Supergraph extends HttpFront {
  /** The composed supergraph SDL exactly as composition produced it. */
  supergraphSdl: string;
  /** Every request the gateway sent to a subgraph for a client operation, in order. */
  calls: SubgraphCall[];
  gql(query: string, variables?: Record<string, unknown>, opts?: { token?: string; cookie?: string; headers?: Record<string, string> }): Promise<GqlResult>;
}

class ForwardingDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    private readonly subgraph: string,
    url: string,
    private readonly calls: SubgraphCall[],
  ) {
    // Node's own fetch: its Headers give every Set-Cookie separately (getSetCookie).
    super({ url, fetcher: fetch as unknown as RemoteGraphQLDataSource["fetcher"] });
  }

  override willSendRequest(options: GraphQLDataSourceProcessOptions<GatewayContext>): void {
    if (!("incomingRequestContext" in options)) return; // health checks and schema loads carry no client
    const { request, context } = options;
    const headers = request.http!.headers;
    for (const name of FORWARDED_HEADERS) {
      const value = context.incoming[name];
      if (typeof value === "string" && value) headers.set(name, value);
    }
    this.calls.push({ subgraph: this.subgraph, query: request.query ?? "", variables: { ...request.variables }, headers: Object.fromEntries(headers) });
  }

  override didReceiveResponse({ response, context }: Parameters<NonNullable<RemoteGraphQLDataSource<GatewayContext>["didReceiveResponse"]>>[0]) {
    const headers = response.http?.headers as unknown as Headers | undefined;
    const cookies = headers?.getSetCookie?.() ?? [];
    context.setCookies?.push(...cookies);
    return response;
  }
}

/** Fetches a subgraph's SDL through its federation endpoint. */
export async function fetchSubgraphSdl(url: string): Promise<string> {
  const r = await postGraphQL(url, "{ _service { sdl } }");
  const sdl = r.data?._service?.sdl;
  if (typeof sdl !== "string") throw new Error(`no SDL from ${url}: ${r.raw}`);
  return sdl;
}

/** Composes the subgraphs into a supergraph SDL; throws with every composition error. */
export function compose(subgraphs: Array<{ name: string; url: string; sdl: string }>): string {
  const result = composeServices(subgraphs.map((s) => ({ name: s.name, url: s.url, typeDefs: parse(s.sdl) })));
  if (result.errors) throw new Error(`composition failed:\n${result.errors.map((e) => e.message).join("\n")}`);
  return result.supergraphSdl;
}

/**
 * @apollo/gateway refuses a supergraph that links features `for: SECURITY` it cannot enforce, and
 * the authorization directives (@authenticated, @requiresScopes, @policy) are such features: only
 * an Apollo Router enforces them. Behind this gateway every subgraph enforces its own rules (ours
 * with the same declarations, notes with its own JWT checks), so the gateway gets the supergraph
 * with the purpose dropped from those links; the directives themselves stay in the schema.
 */
export function forGateway(supergraphSdl: string): string {
  return supergraphSdl.replace(/(@link\(url: "https:\/\/specs\.apollo\.dev\/(?:authenticated|requiresScopes|policy)\/v[\d.]+"), for: SECURITY\)/g, "$1)");
}

export async function startSupergraph(subgraphs: Array<{ name: string; url: string }>): Promise<Supergraph> {
  const withSdl = await Promise.all(subgraphs.map(async (s) => ({ ...s, sdl: await fetchSubgraphSdl(s.url) })));
  const supergraphSdl = compose(withSdl);
  const calls: SubgraphCall[] = [];
  const gateway = new ApolloGateway({
    supergraphSdl: forGateway(supergraphSdl),
    buildService: ({ name, url }) => new ForwardingDataSource(name, url as string, calls),
  });
  const apollo = new ApolloServer<GatewayContext>({ gateway, includeStacktraceInErrorResponses: false, stopOnTerminationSignals: false });
  await apollo.start();
  const front = await serveApollo(
    apollo,
    async (req) => ({ incoming: req.headers, setCookies: [] }),
    (ctx) => ctx.setCookies,
  );
  return {
    ...front,
    supergraphSdl,
    calls,
    gql: (query, variables = {}, opts = {}) =>
      postGraphQL(front.url, query, variables, {
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
        ...(opts.cookie ? { cookie: opts.cookie } : {}),
        ...opts.headers,
      }),
  };
}
