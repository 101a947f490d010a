/** Typed event listeners: what `ParleyClient` and `ParleySession` both offer as `on`/`off`. */

type Listener = (data: never) => void;

export class Listeners<Events> {
  private readonly byEvent = new Map<keyof Events, Set<Listener>>();

  add<E extends keyof Events>(event: E, listener: (data: Events[E]) => void): void {
    let set = this.byEvent.get(event);
    if (set === undefined) {
      set = new Set();
      this.byEvent.set(event, set);
    }
    set.add(listener as Listener);
  }

  remove<E extends keyof Events>(event: E, listener: (data: Events[E]) => void): void {
    this.byEvent.get(event)?.delete(listener as Listener);
  }

  /** Calls each listener of `event`; one that throws is logged and the others still run. */
  emit<E extends keyof Events>(event: E, data: Events[E]): void {
    for (const listener of this.byEvent.get(event) ?? []) {
      try {
        (listener as (data: Events[E]) => void)(data);
      } catch (error) {
        console.error('[parley-client] listener failed:', error);
      }
    }
  }
}
