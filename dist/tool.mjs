import { enableCompileCache } from "node:module"
enableCompileCache?.()
await import("./cli-CXK2QX5V.js")
