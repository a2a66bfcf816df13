/** A migrated database that starts with no users, beside the test database (first-run setup tests). */
export function emptyDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `${url.pathname}_empty`;
  return url.toString();
}
