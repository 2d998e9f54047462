/**
 * The `armada` command: parses the sub-command, loads and validates configuration, and runs it.
 * Startup failures print one line to stderr and exit 1 (spec §14.7).
 */
import { ConfigError, loadConfig, usageText, validateStartup, type LoadedConfig } from "../config/index.js";
import { createLogger, parseLogLevel, type Logger } from "../log/index.js";
import { VERSION } from "../server/version.js";
import { runLeader } from "./leader.js";
import { securityWarnings } from "../security/warnings.js";
import { missingServingFlags, tuneGarbageCollectorForServing } from "../server/gc-tuning.js";
import { backupCommand } from "./backup.js";
import { restoreCommand } from "./restore.js";

/** Runs `armada <argv>`; resolves with the exit code (a server resolves only once it has stopped). */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help" || command === "help") {
    process.stdout.write(usageText());
    return command === undefined ? 1 : 0;
  }
  if (command === "version" || command === "--version") {
    process.stdout.write(`Armada KV\nVersion: ${VERSION}\nNode: ${process.version} (${process.platform}/${process.arch})\n`);
    return 0;
  }
  if (command === "backup") return backupCommand(rest, process.env);
  if (command === "restore") return restoreCommand(rest, process.env);
  if (command !== "leader" && command !== "follower") {
    process.stderr.write(`unknown command "${command}" for "armada"\nRun 'armada --help' for usage.\n`);
    return 1;
  }
  tuneGarbageCollectorForServing();
  let config: LoadedConfig;
  try {
    config = loadConfig(command, rest, process.env);
    if (config.help) {
      process.stdout.write(usageText(command));
      return 0;
    }
    validateStartup(command, config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const logger = processLogger(config);
  for (const warning of config.warnings) logger.warn(warning);
  for (const warning of securityWarnings(command, config.values)) logger.warn(warning);
  const missing = missingServingFlags();
  if (missing.length > 0) {
    logger.info(`started without ${missing.join(" ")}: read latency has longer garbage-collection pauses (see docs/operations.md)`);
  }
  return runLeader(config, logger, command);
}

function processLogger(config: LoadedConfig): Logger {
  return createLogger({
    level: parseLogLevel(String(config.values["log-level"])),
    devMode: config.values["dev-mode"] === true,
    component: "armada",
  });
}
