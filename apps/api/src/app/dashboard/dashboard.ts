import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { type Express } from 'express';

/**
 * Serves the built dashboard (apps/dashboard, a static single-page app) at /dashboard, with the SPA fallback to
 * index.html for client-side routes. Absent build: a short page saying how to build it.
 */
export function serveDashboard(app: Express, directory: string): void {
  const root = resolve(directory);
  const index = join(root, 'index.html');
  app.get('/', (_request, response) => response.redirect('/dashboard/'));
  if (!existsSync(index)) {
    app.use('/dashboard', (_request, response) => {
      response
        .status(503)
        .type('text/plain')
        .send(
          `The dashboard is not built. Run \`npx nx build dashboard\` (npm start does it) to create ${index}.`,
        );
    });
    return;
  }
  app.use('/dashboard', express.static(root, { index: false, maxAge: '1h' }));
  app.get(/^\/dashboard(\/.*)?$/, (_request, response) => response.sendFile(index));
}
