import { describe, expect, it } from "vitest";
import { actionFor } from "./problems";

describe("problem actions", () => {
  it("follow the code", () => {
    expect(actionFor("auth_expired")).toBe("sign_in");
    expect(actionFor("auth_rejected")).toBe("sign_in");
    expect(actionFor("rate_limited")).toBe("retry");
    expect(actionFor("preflight_failed")).toBe("push_anyway");
    expect(actionFor("docker_unavailable")).toBe("retry");
    expect(actionFor("bad_config")).toBeNull();
    expect(actionFor("not_found")).toBeNull();
    // A missing secret an account keeps is signed in again, whatever its code.
    expect(actionFor("secret_missing", { kind: "sign_in", service: "registry", host: "reg:5000", user: null })).toBe("sign_in");
    expect(actionFor("auth_rejected", { kind: "serve_git", host: "github.com" })).toBe("serve_git");
  });
});
