#!/usr/bin/env node
// Fails when the committed generated resolver types are stale (the schema changed without
// `npm run codegen`). The fresh output is left in place so the fix is one commit.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const file = join(root, "src/generated/graphql.ts");
const read = () => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
};
const before = read();
execFileSync(join(root, "node_modules/.bin/graphql-codegen"), ["--config", "codegen.yml", "--silent"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
if (read() !== before) {
  process.stderr.write("src/generated/graphql.ts was stale: it has been regenerated from schema/; review and commit it.\n");
  process.exit(1);
}
process.stderr.write("codegen: generated types are up to date\n");
