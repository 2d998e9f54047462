/**
 * The shared shell of `armada backup` and `armada restore`: load the configuration, answer --help, print
 * a configuration error once, and run the tool with the loaded values.
 */
import { ConfigError, loadConfig, usageText, type FlagValue } from "../config/index.js";
import type { ToolOutput } from "../maintenance/tool-log.js";

export const STANDARD_OUTPUT: ToolOutput = { stdout: process.stdout, stderr: process.stderr };

/** Runs `command` with `argv`; resolves with the exit code. */
export async function toolCommand(
  command: "backup" | "restore",
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  output: ToolOutput,
  run: (values: Readonly<Record<string, FlagValue>>, output: ToolOutput) => Promise<number>,
): Promise<number> {
  try {
    const config = loadConfig(command, argv, env);
    if (config.help) {
      output.stdout.write(usageText(command));
      return 0;
    }
    return await run(config.values, output);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    output.stderr.write(`${error.message}\n`);
    return 1;
  }
}
