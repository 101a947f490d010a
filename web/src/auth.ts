/** The HTTP API (`/auth/*`, on the page's own origin) and the signed-in user of this tab. */
export interface Auth {
  token: string;
  refreshToken: string;
  user: { userId: string; name: string; username: string };
}

const KEY = 'parley.auth';

export function loadAuth(): Auth | undefined {
  const text = sessionStorage.getItem(KEY);
  return text ? (JSON.parse(text) as Auth) : undefined;
}

export function saveAuth(auth: Auth): void {
  sessionStorage.setItem(KEY, JSON.stringify(auth));
}

export function clearAuth(): void {
  sessionStorage.removeItem(KEY);
}

/** POSTs to `/auth/{endpoint}`; throws with the server's message when it answers an error. */
export async function post<T = unknown>(endpoint: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(`/auth/${endpoint}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const answer = (await response.json().catch(() => ({}))) as { error?: { message?: string } | string };
  if (!response.ok) {
    const error = answer.error;
    throw new HttpError(
      typeof error === 'string' ? error : (error?.message ?? `HTTP ${response.status}`),
      response.status,
    );
  }
  return answer as T;
}

/** An error answer of the HTTP API. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
