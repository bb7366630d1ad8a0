// A software authenticator for the passkey tests, written from the WebAuthn spec with node:crypto:
// ES256 (P-256) keys, attestation "none", authenticatorData with rpIdHash / flags / counter, and
// clientDataJSON with type / challenge / origin, as a browser would build them. It plays browser
// and authenticator at once: it takes the server's options (JSON text) and returns what
// JSON.stringify(credential) gives in a browser. Every field a test may want to forge (origin,
// rpId, type, challenge, counter, userHandle, signature) can be overridden per call.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";

export interface SoftCredential {
  id: Buffer;
  privateKey: KeyObject;
  /** COSE_Key of the public key. */
  cosePublicKey: Buffer;
  rpId: string;
  /** user.id of the registration (returned as userHandle by discoverable credentials). */
  userHandle: Buffer;
  discoverable: boolean;
  counter: number;
}

export interface Flags {
  up?: boolean;
  uv?: boolean;
  /** Backup eligible (a synced passkey) and backed up. */
  be?: boolean;
  bs?: boolean;
}

export interface CeremonyOverrides {
  origin?: string;
  rpId?: string;
  type?: string;
  challenge?: string;
  flags?: Flags;
}

export interface GetOverrides extends CeremonyOverrides {
  /** Use this credential even if the options do not allow it. */
  credential?: SoftCredential;
  /** Counter to report (default: the credential's counter + counterStep). */
  counter?: number;
  /** userHandle to report (default: the credential's, for discoverable credentials). */
  userHandle?: Buffer | null;
  /** Flip a bit of the signature. */
  badSignature?: boolean;
}

export interface CreateOverrides extends CeremonyOverrides {
  /** Register an existing credential again (its id and key) instead of a new one. */
  reuse?: SoftCredential;
  /** Ignore excludeCredentials (a browser would refuse with InvalidStateError). */
  ignoreExclude?: boolean;
}

const b64u = (b: Uint8Array): string => Buffer.from(b).toString("base64url");
const sha256 = (b: Uint8Array | string): Buffer => createHash("sha256").update(b).digest();

// ---- minimal CBOR (RFC 8949) encoder: unsigned/negative ints, byte and text strings, arrays, maps ----
function head(major: number, n: number): Buffer {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

export function cbor(v: unknown): Buffer {
  if (typeof v === "number") return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === "string") {
    const s = Buffer.from(v, "utf8");
    return Buffer.concat([head(3, s.length), s]);
  }
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)]);
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as Record<string, unknown>);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)])]);
}

function flagsByte(f: Flags, attested: boolean): number {
  return (f.up === false ? 0 : 0x01) | (f.uv === false ? 0 : 0x04) | (f.be ? 0x08 : 0) | (f.bs ? 0x10 : 0) | (attested ? 0x40 : 0);
}

function counterBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

interface CreationOptions {
  rp: { id?: string; name: string };
  user: { id: string; name: string; displayName: string };
  challenge: string;
  excludeCredentials?: Array<{ id: string }>;
  authenticatorSelection?: { residentKey?: string };
}

interface RequestOptions {
  rpId?: string;
  challenge: string;
  allowCredentials?: Array<{ id: string }>;
}

/** The JSON a browser's PublicKeyCredential serialises to (toJSON()), as the server's API takes it. */
const credentialJson = (id: Buffer, response: Record<string, unknown>, clientExtensionResults: Record<string, unknown>): string =>
  JSON.stringify({ id: b64u(id), rawId: b64u(id), type: "public-key", authenticatorAttachment: "platform", response, clientExtensionResults });

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  /** Flags every ceremony reports unless overridden (user present and verified by default). */
  flags: Flags = { up: true, uv: true };
  counterStep = 1;

  constructor(readonly origin: string) {}

  /** navigator.credentials.create(): returns the credential's JSON text. */
  create(optionsJson: string, o: CreateOverrides = {}): string {
    const opts = JSON.parse(optionsJson) as CreationOptions;
    const rpId = o.rpId ?? opts.rp.id ?? new URL(this.origin).hostname;
    const excluded = new Set((opts.excludeCredentials ?? []).map((c) => c.id));
    if (!o.ignoreExclude && this.credentials.some((c) => c.rpId === rpId && excluded.has(b64u(c.id)))) {
      throw new Error("InvalidStateError: the authenticator already holds an excluded credential");
    }
    const cred = o.reuse ?? this.newCredential(rpId, Buffer.from(opts.user.id, "base64url"), opts.authenticatorSelection?.residentKey !== "discouraged");
    if (!o.reuse) this.credentials.push(cred);
    const flags = o.flags ?? this.flags;
    const authData = Buffer.concat([
      sha256(rpId),
      Buffer.from([flagsByte(flags, true)]),
      counterBytes(cred.counter),
      Buffer.alloc(16), // aaguid: zeros, as with attestation "none"
      Buffer.from([cred.id.length >> 8, cred.id.length & 0xff]),
      cred.id,
      cred.cosePublicKey,
    ]);
    const clientDataJSON = this.clientData(o.type ?? "webauthn.create", o.challenge ?? opts.challenge, o.origin);
    return credentialJson(
      cred.id,
      { clientDataJSON: b64u(clientDataJSON), attestationObject: b64u(cbor({ fmt: "none", attStmt: {}, authData })), transports: ["internal", "hybrid"] },
      { credProps: { rk: cred.discoverable } },
    );
  }

  /** navigator.credentials.get(): returns the credential's JSON text. */
  get(optionsJson: string, o: GetOverrides = {}): string {
    const opts = JSON.parse(optionsJson) as RequestOptions;
    const rpId = o.rpId ?? opts.rpId ?? new URL(this.origin).hostname;
    const cred = o.credential ?? this.pick(rpId, opts.allowCredentials ?? []);
    if (!cred) throw new Error("NotAllowedError: no credential for this request");
    cred.counter = o.counter ?? cred.counter + this.counterStep;
    const authData = Buffer.concat([sha256(rpId), Buffer.from([flagsByte(o.flags ?? this.flags, false)]), counterBytes(cred.counter)]);
    const clientDataJSON = this.clientData(o.type ?? "webauthn.get", o.challenge ?? opts.challenge, o.origin);
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), { key: cred.privateKey, dsaEncoding: "der" });
    if (o.badSignature) signature[signature.length - 1] = (signature[signature.length - 1] ?? 0) ^ 0x01;
    const userHandle = o.userHandle !== undefined ? o.userHandle : cred.discoverable ? cred.userHandle : null;
    return credentialJson(
      cred.id,
      { clientDataJSON: b64u(clientDataJSON), authenticatorData: b64u(authData), signature: b64u(signature), ...(userHandle ? { userHandle: b64u(userHandle) } : {}) },
      {},
    );
  }

  /** Another authenticator holding copies of this one's keys (what a cloned device would be). */
  clone(): SoftAuthenticator {
    const copy = new SoftAuthenticator(this.origin);
    copy.credentials.push(...this.credentials.map((c) => ({ ...c })));
    return copy;
  }

  private pick(rpId: string, allow: Array<{ id: string }>): SoftCredential | undefined {
    const mine = this.credentials.filter((c) => c.rpId === rpId);
    if (allow.length) return mine.find((c) => allow.some((a) => a.id === b64u(c.id)));
    return mine.find((c) => c.discoverable); // usernameless: the first discoverable credential
  }

  private newCredential(rpId: string, userHandle: Buffer, discoverable: boolean): SoftCredential {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const cosePublicKey = cbor(
      new Map<number, number | Buffer>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x as string, "base64url")],
        [-3, Buffer.from(jwk.y as string, "base64url")],
      ]),
    );
    return { id: randomBytes(32), privateKey, cosePublicKey, rpId, userHandle, discoverable, counter: 0 };
  }

  private clientData(type: string, challenge: string, origin = this.origin): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), "utf8");
  }
}
