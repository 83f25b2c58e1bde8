export { ConfigError, configVariables, envTable, loadConfig, parseConfig } from "./load.ts";
export { ConfigSchema } from "./schema.ts";
export type { Config, ConfigInput } from "./schema.ts";
export type { EnvVariable } from "./env.ts";
