const nxPreset = require('@nx/jest/preset').default;

// Hooks boot real apps and migrate fresh databases; 5 s (jest's default) is too short on a loaded 2-core machine,
// and a beforeAll that times out leaks the app it was still starting, which then keeps jest alive. Tests about time
// assert on time themselves; this is only the give-up limit.
module.exports = { ...nxPreset, testTimeout: 60_000 };
