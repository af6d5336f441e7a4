/**
 * A list that members join and leave in any order, kept in an array with a free list
 * instead of a Set. JavaScriptCore's Set and Map do not suit a long-lived collection
 * whose members come and go with every request: under load, such a Set makes every
 * young-generation collection keep each member that passed through it since the last
 * one, with everything it referenced, and full collections follow. An array slot holds
 * only its current member.
 * @module
 */

export class Slots<T> {
  private readonly items: (T | undefined)[] = []
  private readonly free: number[] = []

  /** Add `item`; the number is its slot, for `remove`. */
  add(item: T): number {
    const slot = this.free.length > 0 ? this.free.pop()! : this.items.length
    this.items[slot] = item
    return slot
  }

  /** Remove `item` from `slot`, if it is still there. */
  remove(slot: number, item: T): void {
    if (this.items[slot] !== item) return
    this.items[slot] = undefined
    this.free.push(slot)
  }

  /**
   * Remove each member `due` accepts and hand it to `each` at once, in slot order: a
   * member that an earlier `each` removed is not handed over.
   */
  sweep(due: (item: T) => boolean, each: (item: T) => void): void {
    const items = this.items
    for (let i = 0; i < items.length; i++) {
      const item = items[i]
      if (item === undefined || !due(item)) continue
      items[i] = undefined
      this.free.push(i)
      each(item)
    }
  }

  /** Call `fn` on every member, in slot order. */
  forEach(fn: (item: T) => void): void {
    const items = this.items
    for (let i = 0; i < items.length; i++) {
      const item = items[i]
      if (item !== undefined) fn(item)
    }
  }
}
