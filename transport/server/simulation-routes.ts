/**
 * The HTTP routes of Monte Carlo simulations: start one, list a trader's,
 * read one. Without a simulation service they answer 503.
 */
import { BODY_LIMITS } from '../protocol/index.js';
import { SIMULATION_LIST_LIMIT, type SimulationRecord, type SimulationService } from '../../sim/index.js';
import { HttpError } from './errors.js';
import type { HttpApiOptions } from './http-api-options.js';
import { asker, parseJson, type HttpRouter } from './http-router.js';

/** The chart data of a simulation's result, left out of listings (`GET /v1/simulations`). */
export const SIMULATION_CHARTS = ['fan', 'drawdownHistogram'] as const satisfies ReadonlyArray<
  keyof NonNullable<SimulationRecord['result']>
>;

/** Registers the simulation routes on the router. */
export function simulationRoutes(r: HttpRouter, o: HttpApiOptions): void {
  const simulations = (): SimulationService => {
    if (o.simulations === undefined) throw new HttpError(503, 'SIMULATIONS_DISABLED', 'simulations are not configured on this gateway');
    return o.simulations;
  };
  r.route(
    'startSimulation',
    async (ctx) => {
      const p = await r.principal(ctx);
      return { simulation: await simulations().start(asker(p), parseJson(ctx.body)) };
    },
    o.maxSimulationBodyBytes ?? BODY_LIMITS.simulations,
  );
  r.route('simulations', async (ctx) => {
    const p = await r.principal(ctx);
    const limit =
      Math.floor(Number(ctx.query.get(SIMULATION_LIST_LIMIT.name) ?? SIMULATION_LIST_LIMIT.default)) || SIMULATION_LIST_LIMIT.default;
    return { simulations: (await simulations().list(asker(p), limit)).map(withoutCharts) };
  });
  r.route('simulation', async (ctx) => ({ simulation: await simulations().get(asker(await r.principal(ctx)), ctx.params[0]!) }));
}

/** A job for listings: its figures without the chart data. */
function withoutCharts(r: SimulationRecord): SimulationRecord {
  if (r.result === null) return r;
  const figures = Object.fromEntries(Object.entries(r.result).filter(([k]) => !(SIMULATION_CHARTS as readonly string[]).includes(k)));
  return { ...r, result: figures as SimulationRecord['result'] };
}
