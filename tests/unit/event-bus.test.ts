import { expect, test } from "bun:test"
import { createEventBus } from "../../src/core/events.ts"

test("every listener hears each event once, a faulty one breaks nobody, and leaving takes effect", () => {
  const bus = createEventBus<number>()
  const heard: string[] = []
  const a = (n: number) => heard.push(`a${n}`)
  const offA = bus.on(a)
  bus.on(a) // the same listener twice is still one listener
  bus.on(() => {
    throw new Error("faulty")
  })
  const offB = bus.on((n) => {
    heard.push(`b${n}`)
    // Leaving during an emit: this event still reaches every listener, the next does not.
    if (n === 1) offA()
  })
  bus.emit(1)
  bus.emit(2)
  offB()
  bus.emit(3)
  expect(heard).toEqual(["a1", "b1", "b2"])
})

test("a listener that throws is reported with its error, every time, and the others still hear the event", () => {
  const faults: [string, string][] = []
  const bus = createEventBus<number>((err, listener) => faults.push([listener.name, (err as Error).message]))
  const heard: number[] = []
  bus.on(function failing(n: number) {
    throw new Error(`no ${n}`)
  })
  bus.on((n) => heard.push(n))
  bus.emit(1)
  bus.emit(2)
  expect(heard).toEqual([1, 2])
  expect(faults).toEqual([
    ["failing", "no 1"],
    ["failing", "no 2"],
  ])
})
