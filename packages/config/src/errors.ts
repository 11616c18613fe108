/** A configuration the app will not start with; the message names the variable. */
export class ConfigError extends Error {
  override readonly name: string = 'ConfigError';
}
