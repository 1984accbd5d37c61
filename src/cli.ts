#!/usr/bin/env node
import { runCli } from "./cli/program.ts"

runCli()
