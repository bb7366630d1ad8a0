// "notes": a second subgraph, as another team would write it. It extends our User entity with
// `notes` and has its own protected root fields. It trusts our users the way every other service of
// a graph does: it verifies OUR access tokens by itself, with the public keys of
// <auth server>/.well-known/jwks.json (jose's remote JWK set), checking issuer, audience, alg, typ
// and expiry, and never calls our GraphQL API. That verification is stateless: a token revoked on
// the auth server stays acceptable here until it expires (the access-token lifetime).
import type { IncomingMessage } from "node:http";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { buildSubgraphSchema } from "@apollo/subgraph";
import type { GraphQLResolverMap } from "@apollo/subgraph/dist/schema-helper/resolverMap.js";
import { GraphQLError, parse } from "graphql";
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify } from "jose";
import { serveApollo, type HttpFront } from "./http.js";

export const NOTES_SDL = /* GraphQL */ `
  extend schema
    @link(url: "https://specs.apollo.dev/federation/v2.9", import: ["@key", "@authenticated", "@requiresScopes"])

  type Query {
    "The caller's own notes."
    myNotes: [Note!]! @authenticated
    "Notes of the given authors (any signed-in caller); each author is an entity of the auth subgraph."
    notesBy(authorIds: [ID!]!): [Note!]! @authenticated
    "Notes marked public: anyone may read them (their authors are still resolved by the auth subgraph)."
    publicNotes: [Note!]!
    "Number of notes of everybody: moderators only (perm:users-read in the token's scope claim)."
    noteCount: Int! @requiresScopes(scopes: [["perm:users-read"]])
    "What this subgraph verified about the caller's bearer token."
    tokenInfo: TokenInfo! @authenticated
  }

  type Mutation {
    addNote(text: String!, public: Boolean = false): Note! @authenticated
  }

  type Note {
    id: ID!
    text: String!
    public: Boolean!
    "Null when the auth subgraph refuses a non-null field of the author that the query selected."
    author: User
  }

  type TokenInfo {
    sub: ID!
    sid: String!
    kid: String!
    scope: [String!]!
    expiresAt: Int!
  }

  type User @key(fields: "id") {
    id: ID!
    "The user's notes: the user themself, or a moderator (perm:users-read)."
    notes: [Note!]! @authenticated
  }
`;

export interface NotesSettings {
  /** Where our public keys are published: <auth server>/.well-known/jwks.json. */
  jwksUrl: string;
  issuer: string;
  audience: string;
  /** jose: minimum time between two JWKS fetches (an unknown kid refetches only after it). Default 30 s. */
  cooldownMs?: number;
  /** jose: how long a fetched JWKS is used before the next verification refetches it. Default 10 min. */
  cacheMaxAgeMs?: number;
}

interface Claims {
  sub: string;
  sid: string;
  kid: string;
  scope: string[];
  exp: number;
}

type Verified = { claims: Claims; failure: null } | { claims: null; failure: { reason: "missing" | "expired" | "invalid"; detail: string } };

interface NotesContext {
  auth: Verified;
}

interface NoteRecord {
  id: string;
  authorId: string;
  text: string;
  public: boolean;
}

export interface NotesSubgraph extends HttpFront {
  sdl: string;
  /** JWKS downloads so far (jose refetches on an unknown kid, after the cooldown). */
  jwksFetches(): number;
}

const unauthenticated = (auth: Verified) =>
  new GraphQLError("Not authenticated.", { extensions: { code: "UNAUTHENTICATED", ...(auth.failure ? { reason: auth.failure.reason, detail: auth.failure.detail } : {}) } });
const forbidden = () => new GraphQLError("Not allowed.", { extensions: { code: "FORBIDDEN" } });

function requireClaims(ctx: NotesContext): Claims {
  if (!ctx.auth.claims) throw unauthenticated(ctx.auth);
  return ctx.auth.claims;
}

export async function startNotesSubgraph(settings: NotesSettings): Promise<NotesSubgraph> {
  let fetches = 0;
  const jwks = createRemoteJWKSet(new URL(settings.jwksUrl), {
    cooldownDuration: settings.cooldownMs ?? 30_000,
    cacheMaxAge: settings.cacheMaxAgeMs ?? 600_000,
    [customFetch]: (url, options) => {
      fetches++;
      return fetch(url, options);
    },
  });

  async function verify(authorization: string | undefined): Promise<Verified> {
    if (!authorization) return { claims: null, failure: { reason: "missing", detail: "no Authorization header" } };
    const m = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization);
    if (!m?.[1]) return { claims: null, failure: { reason: "invalid", detail: "not a bearer token" } };
    try {
      const { payload, protectedHeader } = await jwtVerify(m[1], jwks, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: ["EdDSA"],
        typ: "at+jwt",
        requiredClaims: ["sub", "sid", "exp", "iat"],
      });
      return {
        claims: { sub: String(payload.sub), sid: String(payload.sid), kid: String(protectedHeader.kid), scope: String(payload.scope ?? "").split(" ").filter(Boolean), exp: Number(payload.exp) },
        failure: null,
      };
    } catch (err) {
      const detail = (err as { code?: string }).code ?? (err as Error).message;
      return { claims: null, failure: { reason: err instanceof joseErrors.JWTExpired ? "expired" : "invalid", detail } };
    }
  }

  const notes: NoteRecord[] = [];
  const toNote = (n: NoteRecord) => ({ ...n, author: { __typename: "User", id: n.authorId } });
  const isModerator = (c: Claims) => c.scope.includes("perm:users-read");

  const resolvers: GraphQLResolverMap<NotesContext> = {
    Query: {
      myNotes: (_p: unknown, _a: unknown, ctx: NotesContext) => {
        const c = requireClaims(ctx);
        return notes.filter((n) => n.authorId === c.sub).map(toNote);
      },
      notesBy: (_p: unknown, args: { authorIds: string[] }, ctx: NotesContext) => {
        requireClaims(ctx);
        // In the order of the ids asked for (notes are added in parallel by the tests: insertion order varies).
        return [...new Set(args.authorIds)].flatMap((id) => notes.filter((n) => n.authorId === id)).map(toNote);
      },
      publicNotes: () => notes.filter((n) => n.public).map(toNote),
      noteCount: (_p: unknown, _a: unknown, ctx: NotesContext) => {
        if (!isModerator(requireClaims(ctx))) throw forbidden();
        return notes.length;
      },
      tokenInfo: (_p: unknown, _a: unknown, ctx: NotesContext) => {
        const c = requireClaims(ctx);
        return { sub: c.sub, sid: c.sid, kid: c.kid, scope: c.scope, expiresAt: c.exp };
      },
    },
    Mutation: {
      addNote: (_p: unknown, args: { text: string; public: boolean }, ctx: NotesContext) => {
        const c = requireClaims(ctx);
        const note: NoteRecord = { id: `n${notes.length + 1}`, authorId: c.sub, text: args.text, public: args.public };
        notes.push(note);
        return toNote(note);
      },
    },
    User: {
      __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      notes: (user: { id: string }, _a: unknown, ctx: NotesContext) => {
        const c = requireClaims(ctx);
        if (c.sub !== user.id && !isModerator(c)) throw forbidden();
        return notes.filter((n) => n.authorId === user.id).map(toNote);
      },
    },
  };
  const schema = buildSubgraphSchema({ typeDefs: parse(NOTES_SDL), resolvers: resolvers as GraphQLResolverMap<unknown> });

  const apollo = new ApolloServer<NotesContext>({ schema, includeStacktraceInErrorResponses: false, stopOnTerminationSignals: false, plugins: [ApolloServerPluginInlineTraceDisabled()] });
  await apollo.start();
  const front = await serveApollo(apollo, async (req: IncomingMessage) => ({ auth: await verify(req.headers.authorization) }));
  return { ...front, sdl: NOTES_SDL, jwksFetches: () => fetches };
}
