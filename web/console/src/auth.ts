// The bearer token lives in this tab's sessionStorage: it survives a reload and a deep link opened
// in the same tab, is gone when the tab closes, and is never shared with other tabs or kept on disk
// across browser sessions the way localStorage would keep it. Nothing else stores it.
const KEY = "console:token";

export function loadToken(): string | null {
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null; // storage refused: the token then lives in memory only (App's state)
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token) window.sessionStorage.setItem(KEY, token);
    else window.sessionStorage.removeItem(KEY);
  } catch {
    // storage refused: memory only
  }
}

/** A pasted line as `make run` prints it ("Authorization: Bearer eyJ…"), "Bearer eyJ…",
 * `{"Authorization": "Bearer …"}` (GraphiQL's headers) or the bare token. */
export function normaliseToken(input: string): string {
  let text = input.trim();
  if (text.startsWith("{")) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      const value = parsed.Authorization ?? parsed.authorization;
      if (typeof value === "string") text = value.trim();
    } catch {
      // not JSON: taken as it stands
    }
  }
  text = text.replace(/^authorization\s*:\s*/i, "");
  if (/^bearer\s+/i.test(text)) text = text.replace(/^bearer\s+/i, "");
  return text;
}
