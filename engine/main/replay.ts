/**
 * `npm run replay -- <tape> [--workers N] [--mode indexed|full-scan]`
 *
 * Runs a tape through the real engine (worker threads included) and prints
 * every event as a JSON line in the total output order, then the final state
 * of each assessment. The output is identical run to run and for any N.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { presetTiers } from '../../actors/index.js';
import { runInputs, readTape, TapeError } from '../index.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('a whole number from 1 to 64');
  return n;
}

const program = new Command('replay')
  .description('Replay a tape through the engine and print its events and final states as JSON lines')
  .argument('<tape>', 'tape file (JSON lines)')
  .option('-w, --workers <n>', 'worker threads', positiveInt, 2)
  .addOption(new Option('--mode <mode>', 'how ticks find actors').choices(['indexed', 'full-scan']).default('indexed'))
  .option('--no-states', 'omit the final states')
  .option('--no-presets', 'do not preload the preset tiers (the tape must define its own)')
  .action(async (tapePath: string, opts: { workers: number; mode: 'indexed' | 'full-scan'; states: boolean; presets: boolean }) => {
    let inputs: ReturnType<typeof readTape>;
    try {
      inputs = readTape(tapePath);
    } catch (err) {
      if (err instanceof TapeError || (err as NodeJS.ErrnoException).code === 'ENOENT') {
        process.stderr.write(`replay: ${(err as Error).message}\n`);
        process.exit(2);
      }
      throw err;
    }
    const { events, engine } = await runInputs(
      inputs.map((si) => si.input),
      {
        workers: opts.workers,
        mode: opts.mode,
        tiers: opts.presets ? presetTiers() : [],
      },
    );
    const out: string[] = events.map((e) => JSON.stringify(e));
    if (opts.states) {
      for (const id of await engine.assessmentIds()) out.push(JSON.stringify({ type: 'final-state', ...(await engine.state(id)) }));
    }
    await engine.stop();
    process.stdout.write(out.join('\n') + (out.length > 0 ? '\n' : ''));
  });

await program.parseAsync();
