/**
 * The web app's Vite dev server, in front of a running local stack: `/auth/*`, `/push/*` and
 * `/_local/*` go to its HTTP API (same origin for the page), the page connects to its WebSocket API.
 * `npm start` runs it; the browser tests run it against their own stack.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';

const webDir = dirname(fileURLToPath(import.meta.url));

export interface WebAppOptions {
  /** The stack's HTTP API, e.g. http://127.0.0.1:3000. */
  readonly httpUrl: string;
  /** The stack's WebSocket API, e.g. ws://127.0.0.1:3001. */
  readonly wsUrl: string;
  /** 0 picks a free port. @default 5173 */
  readonly port?: number;
}

export interface WebApp {
  readonly url: string;
  close(): Promise<void>;
}

export async function startWebApp(options: WebAppOptions): Promise<WebApp> {
  const server: ViteDevServer = await createServer({
    root: webDir,
    configFile: false,
    logLevel: 'warn',
    clearScreen: false,
    define: { __PARLEY_WS_URL__: JSON.stringify(options.wsUrl) },
    // The client's Node path imports `ws`; browsers use the global WebSocket.
    resolve: { alias: { ws: join(webDir, 'src', 'no-ws.ts') } },
    server: {
      host: '127.0.0.1',
      port: options.port ?? 5173,
      strictPort: true,
      proxy: {
        '/auth': { target: options.httpUrl, changeOrigin: true },
        '/_local': { target: options.httpUrl, changeOrigin: true },
        '/push': { target: options.httpUrl, changeOrigin: true },
      },
      fs: { allow: [join(webDir, '..')] },
    },
  });
  await server.listen();
  const address = server.httpServer?.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}
