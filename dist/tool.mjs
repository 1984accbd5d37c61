import { enableCompileCache } from "node:module"
enableCompileCache?.()
await import("./cli-YKHEZAZZ.js")
