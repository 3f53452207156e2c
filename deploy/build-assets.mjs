// Second half of `npm run build`: copies the files the compiled code reads at
// run time next to it in dist/ (tsc copies only what it compiles), so dist/
// runs on its own: the SQL migrations, the trader console's page and stylesheet.
//   node deploy/build-assets.mjs [outDir]     (default: dist)
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const out = process.argv[2] ?? `${root}dist`;
const ASSETS = [
  ['persistence/postgres/migrations', /\.sql$/],
  ['transport/console', /\.(html|css)$/],
];
for (const [dir, keep] of ASSETS) {
  mkdirSync(`${out}/${dir}`, { recursive: true });
  for (const name of readdirSync(`${root}${dir}`)) if (keep.test(name)) copyFileSync(`${root}${dir}/${name}`, `${out}/${dir}/${name}`);
}
