/**
 * The one error type of the configuration layer.
 *
 * Every failure while reading flags, the environment or a config file, and every startup validation failure,
 * is a `ConfigError` whose message is the exact line the `armada` command prints before exiting with status 1.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
