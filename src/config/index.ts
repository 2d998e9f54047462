/**
 * Configuration of the `armada` command: the flag table, loading (flag > environment > config file > default),
 * startup validation, help text and the `Cluster/Status` rendering.
 */
export { ConfigError } from "./errors.js";
export { parseDuration, formatDuration } from "./duration.js";
export {
  FLAGS, COMMAND_NAMES, flagsFor, findFlag, findAnyFlag, envNameOf, referenceEnvNameOf,
  type CommandName, type FlagSpec, type FlagType, type FlagValue,
} from "./flags.js";
export { loadConfig, type LoadedConfig, type LoadOptions, type ConfigSource } from "./load.js";
export { validateStartup } from "./validate.js";
export {
  parseListenAddress, isTlsScheme,
  type ListenAddress, type TcpAddress, type UnixAddress, type AddressScheme, type ParseAddressOptions,
} from "./address.js";
export { renderConfigStruct, SECRET_MASK } from "./render.js";
export { usageText, SUB_COMMANDS } from "./usage.js";
export { stringValue, boolValue, numberValue, listValue, mapValue } from "./values.js";
