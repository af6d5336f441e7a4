/**
 * Reading streamed responses the way a client does.
 */

/** Read an SSE response body into its `data:` payloads. */
export async function sseData(res: Response): Promise<string[]> {
  return (await readEvents(res)).data
}

/** The whole stream as text, its events, their `data:` payloads, and how many were `[DONE]`. */
export async function readEvents(res: Response) {
  const text = await res.text()
  const events = text.split("\n\n").filter((e) => e.trim())
  const data = events.filter((e) => e.startsWith("data:")).map((e) => e.slice(5).trim())
  return { text, events, data, done: data.filter((d) => d === "[DONE]").length }
}

/** Everything a reader has yet to deliver, as text (the rest of a stream already begun). */
export async function readRest(reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> }): Promise<string> {
  const decoder = new TextDecoder()
  let text = ""
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return text + decoder.decode()
    text += decoder.decode(value, { stream: true })
  }
}
