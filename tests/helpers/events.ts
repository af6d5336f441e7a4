/**
 * Clients of `/v1/events`: ones that read as the dashboard does, and ones that stop
 * reading; and the counters Nexus keeps of them in /metrics.
 */
import { connect, type Socket } from "node:net"

/** A value of a metric without labels, from the text of /metrics (undefined when absent). */
export function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text)
  return m ? Number(m[1]) : undefined
}

/** A subscriber that reads its first bytes (the headers have come) and then nothing more. */
export function stalledSubscriber(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    socket.on("error", reject)
    socket.once("data", () => {
      socket.pause()
      resolve(socket)
    })
    socket.on("connect", () => socket.write("GET /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
  })
}

/** A subscriber that reads everything as it comes, into `text`. */
export async function eventReader(url: string) {
  const ctrl = new AbortController()
  const res = await fetch(`${url}/v1/events`, { signal: ctrl.signal })
  const s = { res, text: "", ended: false, close: () => ctrl.abort() }
  if (!res.body) return s
  const reader = res.body.getReader()
  const decoder = new TextDecoder()
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }))
      if (done) return void (s.ended = true)
      s.text += decoder.decode(value, { stream: true })
    }
  })()
  return s
}
