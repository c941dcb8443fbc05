#!/usr/bin/env node
// Entry point of the `ppnn` command. The sources are TypeScript run directly by Node's
// type stripping (Node >= 22.18), so there is no build step between a clone and a run.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `ppnn needs Node.js >= 22.18 (found ${process.version}). Run it through npm (npx ppnn / npm run ppnn), which ` +
      `uses the project's bundled Node 22.\n`,
  );
  process.exit(2);
}
const { main } = await import('../core/cli/main.ts');
const code = await main(process.argv.slice(2), {
  out: (t) => process.stdout.write(t + '\n'),
  err: (t) => process.stderr.write(t + '\n'),
  isTTY: Boolean(process.stderr.isTTY),
});
process.exitCode = code;
