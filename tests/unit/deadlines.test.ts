import { expect, test } from "bun:test"
import { watch, withdraw } from "../../src/egress/transport/deadlines.ts"
import { until } from "../helpers/wait.ts"

test("deadlines expire in order at their time; a withdrawn one never does", async () => {
  const fired: string[] = []
  const start = performance.now()
  const late = watch(start + 60, () => fired.push("late"))
  const early = watch(start + 20, () => fired.push("early"))
  const withdrawn = watch(start + 40, () => fired.push("withdrawn"))
  withdraw(withdrawn)
  await until(() => fired.length, (n) => n >= 2, { what: "both deadlines" })
  // "withdrawn" was due before "late": had it fired, it would be in the list by now.
  expect(fired).toEqual(["early", "late"])
  expect(performance.now() - start).toBeGreaterThanOrEqual(60)
  expect(late.at).toBeGreaterThan(early.at)
})

test("a deadline sooner than the one the timer waits for is not held back by it", async () => {
  const fired: string[] = []
  const start = performance.now()
  const far = watch(start + 60_000, () => fired.push("far"))
  watch(start + 10, () => fired.push("soon"))
  await until(() => fired, (f) => f.includes("soon"), { what: "the sooner deadline", timeoutMs: 5000 })
  withdraw(far)
  expect(fired).toEqual(["soon"])
})
