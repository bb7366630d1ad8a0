// Recognising what the database says, on MongoDB and on the embedded FerretDB v1 alike.

/**
 * FerretDB v1 passes its backend's own unique-constraint text through on an update (code 1,
 * InternalError): SQLite's (the embedded engine, measured) and PostgreSQL's.
 */
const BACKEND_UNIQUE = /UNIQUE constraint failed|duplicate key value violates unique constraint/i;

interface DriverError {
  code?: unknown;
  message?: unknown;
  errmsg?: unknown;
  /** MongoBulkWriteError (insertMany, bulkWrite): one entry per refused document. */
  writeErrors?: unknown;
}

const isClash = (e: DriverError): boolean =>
  e.code === 11000 || (e.code === 1 && BACKEND_UNIQUE.test(String(e.message ?? e.errmsg ?? "")));

/**
 * True when a write was refused by a unique index: E11000 (MongoDB; FerretDB v1 on inserts), also
 * as any write error of a bulk write, or FerretDB v1's code 1 "UNIQUE constraint failed" on an
 * update. Anything else (validation, network, other server errors) is false.
 */
export function isDuplicateKey(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as DriverError;
  if (isClash(e)) return true;
  return Array.isArray(e.writeErrors) && e.writeErrors.some((w: unknown) => typeof w === "object" && w !== null && isClash(w as DriverError));
}
