#!/usr/bin/env node
// Launcher of the command-line tool: registers tsx's loader (with this project's tsconfig, so it
// works from any working directory) and runs src/cli/main.ts.
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register({ tsconfig: fileURLToPath(new URL("../tsconfig.json", import.meta.url)) });
await import(new URL("../src/cli/main.ts", import.meta.url).href);
