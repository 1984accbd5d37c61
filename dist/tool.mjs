import { enableCompileCache } from "node:module"
enableCompileCache?.()
await import("./cli-LEHFV776.js")
