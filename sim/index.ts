/**
 * sim/: seeded randomness and price-path models, shared by the synthetic feed,
 * the demo bots and the Monte Carlo pool.
 */
export { createNormal, createRng, normal, poisson, Random } from './random.js';
export type { Rng } from './random.js';
export { BoundedWalk, DAY_MS, JumpDiffusion, YEAR_MS } from './price-models.js';
export type { BoundedWalkParams, JumpDiffusionParams } from './price-models.js';
