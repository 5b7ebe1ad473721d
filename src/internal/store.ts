import { Listeners } from './listeners.js';

/**
 * A state for `useSyncExternalStore`-style readers: `getState()` returns the same object until
 * {@link set} replaces it, and `subscribe(listener)` hears each replacement. Listeners are called
 * with no arguments, or with the new state when `withState` is set.
 */
export class Store<S> {
  private readonly listeners: Listeners<{ change: (state: S) => void }>;
  private readonly withState: boolean;

  /**
   * @param state - the initial state
   * @param owner - the owning class, for error messages
   * @param options - `withState`: pass the state to listeners; `onChange`: called after each subscribe and unsubscribe
   */
  constructor(
    private state: S,
    owner: string,
    options: { withState?: boolean; onChange?: () => void } = {},
  ) {
    this.withState = options.withState === true;
    this.listeners = new Listeners({ owner, onChange: options.onChange });
  }

  /** The current state: the same object until it is replaced. */
  getState(): S {
    return this.state;
  }

  /** Whether anyone subscribes. */
  get watched(): boolean {
    return this.listeners.has('change');
  }

  /** Calls `listener` after each replacement; the returned function unsubscribes (idempotent). */
  subscribe(listener: (state: S) => void): () => void {
    return this.listeners.on('change', listener);
  }

  /** Replaces the state and tells the listeners (a throw is reported as uncaught). */
  set(state: S): void {
    this.state = state;
    if (this.withState) this.listeners.emit('change', state);
    else (this.listeners.emit as (event: 'change') => boolean)('change');
  }
}
