/**
 * The architecture as import rules (`npm run lint:deps`; `npm test` runs it first).
 *
 *   actors/            pure rules and state: imports nothing of ours
 *   engine/ (core)     shards, kernel, node, cluster: actors only, never transport, persistence or sim
 *   transport/<room>/  nats, market-data, payments, server, protocol, client, console, memory
 *   persistence/       stores behind the ports engine/, sim/ and transport/payments declare
 *   sim/               Monte Carlo and reports
 *   engine/main/       every process and CLI with its composition roots: the only code that wires everything
 *
 * A folder's index.ts is its public surface: other folders import it, never a file behind it
 * (engine/ has a second, browser-safe entry, engine/wire.ts: the msgpack form of its output).
 * Tests (`<folder>/test/`) may import any file of their own top-level folder; tests and
 * benches may import other folders' test helpers and the composition roots in engine/main/
 * (end-to-end tests and benches run real processes).
 */
const TEST = '(^|/)test/';
/** Tests and benches: they may also use the test helpers of other folders and the entry points. */
const HARNESS = [TEST, '^bench/'];
const PORT_TYPES = { dependencyTypesNot: ['type-only'] };

/** Files behind a folder's facade: `<folder>/<anything but index.ts>`. */
const behind = (folder) => `^${folder}/(?!index\\.ts$)`;

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'No runtime import cycles. A store may name the types of the port it implements (type-only imports are erased).',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: PORT_TYPES },
    },
    {
      name: 'actors-import-nothing-of-ours',
      comment: 'actors/ is pure: no engine, transport, persistence, sim, clock or socket.',
      severity: 'error',
      from: { path: '^actors/', pathNot: TEST },
      to: { path: '^(engine|transport|persistence|sim|bench|deploy)/' },
    },
    {
      name: 'engine-core-imports-no-io',
      comment: 'The engine core (kernel, shards, node, cluster) reaches storage and transport only through its ports.',
      severity: 'error',
      from: { path: '^engine/', pathNot: ['^engine/(main|testing)/', TEST] },
      to: { path: ['^(transport|persistence|sim|bench|deploy)/', '^engine/(main|testing)/'] },
    },
    {
      name: 'only-tests-import-entry-points',
      comment: 'engine/main/ is the top: nothing but itself and tests imports it.',
      severity: 'error',
      from: { pathNot: ['^engine/main/', ...HARNESS] },
      to: { path: '^engine/main/' },
    },
    {
      name: 'only-tests-import-tests',
      comment: 'Test helpers stay out of shipped code.',
      severity: 'error',
      from: { pathNot: HARNESS },
      to: { path: TEST },
    },
    {
      name: 'persistence-and-sim-import-no-transport-at-run-time',
      comment: 'Stores and simulations do not reach the wire; a store may name a transport port\'s types.',
      severity: 'error',
      from: { path: '^(persistence|sim)/', pathNot: TEST },
      to: { path: '^transport/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'through-the-facade:top-level',
      comment: 'actors/, engine/ (core), persistence/ and sim/ are imported through their index.ts.',
      severity: 'error',
      from: { path: '^(actors|persistence|sim)/|^(engine)/(?!main/|testing/)' },
      to: { path: '^(actors|persistence|sim|engine)/', pathNot: ['^$1/', '^engine/(main|testing)/', '^(actors|persistence|sim|engine)/index\\.ts$', '^engine/wire\\.ts$', TEST] },
    },
    {
      name: 'through-the-facade:from-elsewhere',
      comment: 'Code outside actors/, engine/, persistence/ and sim/ imports them through their index.ts.',
      severity: 'error',
      from: { pathNot: ['^(actors|persistence|sim)/', '^engine/(?!main/|testing/)'] },
      to: { path: [behind('actors'), behind('persistence'), behind('sim'), '^engine/(?!main/|testing/|index\\.ts$|wire\\.ts$)'], pathNot: TEST },
    },
    {
      name: 'through-the-facade:rooms',
      comment: 'A transport room (and engine/testing) is imported through its index.ts by code outside it; transport tests may reach into transport/.',
      severity: 'error',
      from: { path: '^(transport/[^/]+|engine/testing|[^/]+)/', pathNot: '^transport/test/' },
      to: { path: ['^transport/[^/]+/(?!index\\.ts$)', behind('engine/testing')], pathNot: ['^$1/', '^transport/testing/venue-simulator/index\\.ts$'] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs', '.json'] },
  },
};
