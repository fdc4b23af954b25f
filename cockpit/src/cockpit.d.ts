// The part of cockpit.js (../base1/cockpit.js, loaded by index.html as a global) that this page uses. cockpit.js
// ships no types on npm; these follow the Cockpit guide's "cockpit.js: DBus Client" chapter.

declare namespace cockpit {
  /** A D-Bus variant: its full type and its value. */
  interface Variant {
    t: string;
    v: unknown;
  }

  /** Why a call failed: a D-Bus error (name, message) or a Cockpit problem code. */
  interface DBusError {
    problem?: string | null;
    name?: string | null;
    message?: string | null;
  }

  interface DBusOptions {
    bus?: 'system' | 'session' | 'user' | 'none' | 'internal';
    address?: string;
    /** `require`: talk as root or close; `try`: as root if permitted, else as the user. */
    superuser?: 'require' | 'try';
    track?: boolean;
  }

  interface CallOptions {
    /** `i` allows interactive authorization (the default when flags is absent); `''` forbids it. */
    flags?: string;
    /** The input signature, so the service need not be introspected. */
    type?: string;
    timeout?: number;
  }

  interface SignalMatch {
    interface?: string;
    path?: string;
    path_namespace?: string;
    member?: string;
    arg0?: string;
  }

  interface Subscription {
    remove(): void;
  }

  /** cockpit's promises are thenables whose `then` may pass extra arguments; only the first is used here. */
  interface DBusClient {
    readonly options: DBusOptions;
    readonly unique_name: string | null;
    call(
      path: string,
      iface: string,
      method: string,
      args: unknown[] | null,
      options?: CallOptions,
    ): PromiseLike<unknown[]>;
    subscribe(
      match: SignalMatch,
      callback: (path: string, iface: string, signal: string, args: unknown[]) => void,
      rule?: boolean,
    ): Subscription;
    wait(): PromiseLike<void>;
    close(problem?: string): void;
    addEventListener(type: 'close', listener: (event: Event, options: { problem?: string }) => void): void;
    addEventListener(type: 'owner', listener: (event: Event, owner: string | null) => void): void;
  }

  function dbus(name: string | null, options?: DBusOptions): DBusClient;
  function gettext(message: string): string;
  /** A problem code or error object in words. */
  function message(problem: unknown): string;
}
