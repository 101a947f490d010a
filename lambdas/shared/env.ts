/**
 * Reads a required environment variable once, at module load, and fails fast when it is missing.
 * @throws Error `"NAME environment variable is not set"`
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} environment variable is not set`);
  }
  return value;
}
