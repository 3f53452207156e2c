/**
 * sim/: seeded randomness and price-path models (shared by the synthetic
 * feed, the demo bots and the Monte Carlo pool), the demo bot traders, the
 * Monte Carlo pass probability (montecarlo/) and assessment reports (reports/).
 * Other folders import sim/ through this file only.
 */
export { createNormal, createRng, normal, poisson, Random } from './random.js';
export type { Rng } from './random.js';
export { BoundedWalk, DAY_MS, JumpDiffusion, YEAR_MS } from './price-models.js';
export type { BoundedWalkParams, JumpDiffusionParams } from './price-models.js';

export { BotTraders } from './bot-trader.js';
export type { BotCommand } from './bot-trader.js';
export { compilePhases } from './montecarlo/compile-tier.js';
export { fitJumpDiffusion } from './montecarlo/fit-model.js';
export { LiveEstimator } from './montecarlo/live-estimator.js';
export { RaySimulator } from './montecarlo/ray-client.js';
export type { Simulator } from './montecarlo/ray-client.js';
export { renderReport } from './montecarlo/render-report.js';
export { SimPool } from './montecarlo/sim-pool.js';
export { SIMULATION_DEFAULTS, SIMULATION_LIST_LIMIT, SimulationRequest, SimulationService } from './montecarlo/simulation-service.js';
export { CompiledPhase, Distribution, Estimate, Histogram, Method, OUTCOMES, SimulationResult } from './montecarlo/simulation-spec.js';
export type { SimulationJobInput } from './montecarlo/simulation-spec.js';
export { MemorySimulationStore } from './montecarlo/simulation-store.js';
export type { SimulationRecord, SimulationStatus, SimulationStore } from './montecarlo/simulation-store.js';
export { historyOf, parseTrades } from './montecarlo/trade-history.js';
export { replaySource } from './reports/compliance.js';
export { HistoryApi } from './reports/history-api.js';
export { printPdf } from './reports/print-pdf.js';
export { renderAssessmentReport } from './reports/render-assessment-report.js';
export { ReportService } from './reports/report-service.js';
export type { ReportReady } from './reports/report-service.js';
