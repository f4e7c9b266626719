// The only way out of the webview: Tauri commands (docs/console.md is the contract). The token
// stays in Rust. Failures arrive as {code, message, column?}; they are thrown as CommandError.
// A `signed_out` failure of any command also goes to the handler set with onSignedOut, which
// takes the user back to the sign-in screen.

/** A failed command: `code` is one of docs/console.md's codes. */
export class CommandError extends Error {
  constructor({ code, message, column }) {
    super(message);
    this.name = 'CommandError';
    this.code = code;
    if (column != null) this.column = column;
  }
}

let signedOutHandler = () => {};

/** Sets what happens when a command answers `signed_out`. */
export function onSignedOut(handler) {
  signedOutHandler = handler;
}

/** Reports a `signed_out` that did not come from a command (the live tail's channel). */
export function reportSignedOut(error) {
  signedOutHandler(toCommandError(error));
}

function core() {
  const c = window.__TAURI__?.core;
  if (!c) throw new CommandError({ code: 'invalid', message: 'Vigil Console must run inside its desktop app (no Tauri IPC found).' });
  return c;
}

/** Whatever the IPC threw, as a CommandError. */
export function toCommandError(raw) {
  if (raw instanceof CommandError) return raw;
  if (raw && typeof raw === 'object' && typeof raw.code === 'string') {
    return new CommandError({ code: raw.code, message: String(raw.message ?? raw.code), column: raw.column });
  }
  const message = raw instanceof Error ? raw.message : String(raw);
  return new CommandError({ code: 'invalid', message });
}

/** Calls a command with its named arguments (camelCase); resolves to its answer. */
export async function call(command, args = {}) {
  try {
    return await core().invoke(command, args);
  } catch (raw) {
    const error = toCommandError(raw);
    if (error.code === 'signed_out' && command !== 'session_status') {
      error.handled = true;
      signedOutHandler(error);
    }
    throw error;
  }
}

/** A Tauri Channel whose messages go to `onMessage`. */
export function channel(onMessage) {
  const ch = new (core().Channel)();
  ch.onmessage = onMessage;
  return ch;
}
