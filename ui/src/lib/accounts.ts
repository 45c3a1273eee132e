// How accounts read in Settings → Accounts. Pure functions, tested with Vitest.

import type { Account, AccountKind } from "./ipc";

export const SERVICE_NAMES: Record<AccountKind, string> = {
  github: "GitHub",
  registry: "Registry",
  circleci: "CircleCI",
};

/** What each kind of account is for, for the empty state and the add buttons. */
export const SERVICE_PURPOSE: Record<AccountKind, string> = {
  github: "push branches, open pull requests and follow their checks",
  registry: "push images to Docker Hub or your own registry",
  circleci: "follow CircleCI pipelines",
};

/** "octocat (Mona Lisa)" or "octocat". */
export function who(account: Account): string {
  return account.name && account.name !== account.user ? `${account.user} (${account.name})` : account.user;
}

/** Where the secret lives, in words. */
export function sourceLabel(account: Account): string {
  switch (account.source.kind) {
    case "slipway":
      return "in the keychain";
    case "docker_config":
      return "from docker's config.json (read-only)";
    case "docker_helper":
      return `from docker-credential-${account.source.helper} (read-only)`;
  }
}

/** The secret's state, when it needs saying. */
export function secretNote(account: Account): string | null {
  switch (account.secret) {
    case "set":
      return null;
    case "missing":
      return "The secret is gone from the keychain: replace it to sign in again.";
    case "unknown":
      return "The keychain could not be asked.";
  }
}

/** Only Slipway's own logins can be replaced or removed here. */
export function isManaged(account: Account): boolean {
  return account.source.kind === "slipway";
}

/** Accounts grouped in a stable order: GitHub, registries, CircleCI. */
export function sortAccounts(accounts: Account[]): Account[] {
  const order: AccountKind[] = ["github", "registry", "circleci"];
  return [...accounts].sort(
    (a, b) => order.indexOf(a.kind) - order.indexOf(b.kind) || a.host.localeCompare(b.host),
  );
}

/** The message after a successful sign-in. */
export function signedInMessage(account: Account): string {
  return `Signed in to ${account.host} as ${who(account)}.`;
}
