// Container healthcheck: exit 0 when GET http://127.0.0.1:<port>/health answers 200 (all checks ok), 1 otherwise.
// Usage: node /app/docker/healthcheck.mjs <port>   (node's own fetch: the slim image has no curl)
const port = process.argv[2] ?? '8080';
fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) }).then(
  (response) => process.exit(response.ok ? 0 : 1),
  () => process.exit(1),
);
