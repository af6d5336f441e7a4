import { expect, test } from "bun:test"
import { Slots } from "../../src/egress/transport/slots.ts"

test("members join and leave in any order; a freed slot is reused; a stale remove does nothing", () => {
  const list = new Slots<string>()
  const a = list.add("a")
  const b = list.add("b")
  list.add("c")
  list.remove(b, "b")
  list.remove(a, "not a") // not the member in that slot
  const d = list.add("d")
  expect(d).toBe(b)
  list.remove(b, "b") // "b" left already: "d" stays
  const seen: string[] = []
  list.forEach((x) => seen.push(x))
  expect(seen).toEqual(["a", "d", "c"])
})

test("a sweep hands over each due member once, and skips one that an earlier hand-over removed", () => {
  const list = new Slots<{ name: string; due: boolean }>()
  const first = { name: "first", due: true }
  const second = { name: "second", due: true }
  const later = { name: "later", due: false }
  list.add(first)
  const slotOfSecond = list.add(second)
  list.add(later)
  const handed: string[] = []
  list.sweep(
    (x) => x.due,
    (x) => {
      handed.push(x.name)
      if (x === first) list.remove(slotOfSecond, second)
    }
  )
  expect(handed).toEqual(["first"])
  const left: string[] = []
  list.forEach((x) => left.push(x.name))
  expect(left).toEqual(["later"])
  list.sweep(
    () => true,
    (x) => handed.push(x.name)
  )
  expect(handed).toEqual(["first", "later"])
  list.forEach(() => {
    throw new Error("the list should be empty")
  })
})
