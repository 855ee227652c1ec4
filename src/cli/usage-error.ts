/**
 * A command line the CLI cannot act on (a bad argument, an unreadable file):
 * exit code 2, like commander's own usage errors. API errors are the
 * client's EventStoreError and exit 1.
 */
export class UsageError extends Error {
  override name = "UsageError";
}
