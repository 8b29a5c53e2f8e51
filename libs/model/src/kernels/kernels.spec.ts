import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..', '..');

describe('hand-written wasm kernels', () => {
  it('should run the binaries assembled from the committed .wat sources', () => {
    // Throws (exit status 1) when a committed *.wasm.ts is not the assembly of its .wat.
    const report = execFileSync(
      process.execPath,
      [join(ROOT, 'tools', 'scripts', 'wasm-kernels.cjs'), '--check'],
      { encoding: 'utf8' },
    );
    expect(report).toMatch(/attention\.wasm\.ts: up to date/);
    expect(report).toMatch(/matmul\.wasm\.ts: up to date/);
  });
});
