/**
 * The API key lives in sessionStorage: it survives reloads of this tab, is gone when the tab closes, and is never
 * put in a URL (URLs end up in logs, history and Referer headers).
 */
const KEY = 'tracetune.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}
