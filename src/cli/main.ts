// The CLI layer, the top one: commands that parse flags into the service's config and call the layers below
// (service, engine, models, http for `serve`). Nothing imports it.
//
// fastembed-native CLI entry: dispatches to a command, turns usage errors into exit code 2 with a hint.
import { ConfigError } from '../service/config.js';
import { FastembedError } from '../util/errors.js';
import { packageVersion } from '../util/paths.js';
import { UsageError } from './args.js';
import { commands } from './commands.js';

const HELP = `fastembed-native — fast text embeddings and similarity

Usage: fastembed-native <command> [options]     (fastembed-native <command> --help for details)

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(12)}${c.summary}`)
  .join('\n')}
`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`fastembed-native: unknown command '${name}'\n\n${HELP}`);
    return 2;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`fastembed-native ${name}: ${err.message}\nRun 'fastembed-native ${name} --help' for usage.\n`);
      return 2;
    }
    const e = err as Error;
    const known = err instanceof FastembedError || err instanceof ConfigError || e instanceof TypeError || e instanceof RangeError;
    process.stderr.write(`fastembed-native ${name}: ${known ? e.message : (e.stack ?? e.message)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // serve keeps running (its server holds the event loop open); other commands end here.
    if (code !== 0 || process.argv[2] !== 'serve') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  },
);
