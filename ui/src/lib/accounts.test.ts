import { describe, expect, it } from "vitest";
import type { Account } from "./ipc";
import { isManaged, secretNote, signedInMessage, sortAccounts, sourceLabel, who } from "./accounts";

function account(over: Partial<Account>): Account {
  return {
    kind: "github", host: "github.com", user: "octocat", name: null, api_url: null, scopes: null,
    warnings: [], source: { kind: "slipway" }, secret: "set", validated_at_ms: null, ...over,
  };
}

describe("accounts", () => {
  it("names who is signed in", () => {
    expect(who(account({ name: "Mona Lisa" }))).toBe("octocat (Mona Lisa)");
    expect(who(account({ name: "octocat" }))).toBe("octocat");
    expect(signedInMessage(account({}))).toBe("Signed in to github.com as octocat.");
  });

  it("says where the secret lives and whether it can be managed here", () => {
    expect(sourceLabel(account({}))).toBe("in the keychain");
    const helper = account({ kind: "registry", source: { kind: "docker_helper", helper: "pass" } });
    expect(sourceLabel(helper)).toBe("from docker-credential-pass (read-only)");
    expect(isManaged(helper)).toBe(false);
    expect(isManaged(account({}))).toBe(true);
  });

  it("explains a missing or unknown secret", () => {
    expect(secretNote(account({}))).toBeNull();
    expect(secretNote(account({ secret: "missing" }))).toMatch(/replace it to sign in again/);
    expect(secretNote(account({ secret: "unknown" }))).toMatch(/keychain could not be asked/);
  });

  it("orders GitHub, registries, CircleCI, then by host", () => {
    const sorted = sortAccounts([
      account({ kind: "circleci", host: "circleci.com" }),
      account({ kind: "registry", host: "z.example" }),
      account({ kind: "github", host: "ghe.example" }),
      account({ kind: "registry", host: "a.example" }),
      account({ kind: "github", host: "github.com" }),
    ]);
    expect(sorted.map((a) => `${a.kind}:${a.host}`)).toEqual([
      "github:ghe.example", "github:github.com", "registry:a.example", "registry:z.example", "circleci:circleci.com",
    ]);
  });
});
