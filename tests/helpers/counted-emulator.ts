/**
 * `bun tests/helpers/counted-emulator.ts ollama 11434 model-a,model-b 9999`: an emulated
 * backend on 0.0.0.0:<port>, plus its own request counts as JSON on 127.0.0.1:<stats port>,
 * so a test can ask the box itself which requests reached it. Run inside a namespace.
 */
import { startEmulator, type EmulatorKind } from "../../emulators/index.ts"

const [kind = "ollama", port = "11434", models = "", statsPort = "9999"] = process.argv.slice(2)
const emu = await startEmulator(kind as EmulatorKind, { port: Number(port), hostname: "0.0.0.0", models: models.split(",").filter(Boolean) })
const stats = Bun.serve({ port: Number(statsPort), hostname: "127.0.0.1", fetch: () => Response.json(emu.stats) })
console.log(`${kind} emulator on ${emu.url}, counts on ${stats.url}`)
process.on("SIGTERM", () => void emu.stop().then(() => process.exit(0)))
