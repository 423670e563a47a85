import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { API_KEY_HASH_PATTERN } from "../config/index.js";
import { NetwardenError } from "../core/index.js";

export type KeyRole = "admin" | "predict";

/**
 * API keys look like `nwk_<id>_<secret>`; the server stores only
 * `<role>:<id>:<salt>:<sha256(salt + secret)>`. The id finds the entry without trying every hash;
 * the secret's 32 random bytes make a salted sha256 as safe as a slow hash would be.
 */
export interface CreatedKey {
  key: string;
  hash: string;
  role: KeyRole;
  id: string;
}

export function createApiKey(role: KeyRole): CreatedKey {
  const id = randomBytes(4).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  const salt = randomBytes(16).toString("hex");
  return { key: `nwk_${id}_${secret}`, hash: `${role}:${id}:${salt}:${digest(salt, secret)}`, role, id };
}

function digest(salt: string, secret: string): string {
  return createHash("sha256").update(salt).update(secret).digest("hex");
}

interface Entry {
  role: KeyRole;
  salt: string;
  hash: Buffer;
}

const KEY_PATTERN = /^nwk_([0-9a-f]{8})_([A-Za-z0-9_-]{20,100})$/;

/** The configured keys, checked in constant time per entry. */
export class KeyRing {
  private readonly byId = new Map<string, Entry>();

  constructor(hashes: readonly string[]) {
    for (const h of hashes) {
      if (!API_KEY_HASH_PATTERN.test(h)) {
        throw new NetwardenError("NW_CONFIG_INVALID_VALUE", "an API key hash has the wrong form", {
          where: "auth.keys",
          hint: "Use the line printed by `netwarden serve keys create`",
        });
      }
      const [role, id, salt, hex] = h.split(":");
      this.byId.set(id, { role: role as KeyRole, salt, hash: Buffer.from(hex, "hex") });
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** The role of a presented key, or undefined when it is not one of ours. */
  roleOf(key: string): KeyRole | undefined {
    const m = KEY_PATTERN.exec(key);
    if (!m) return undefined;
    const e = this.byId.get(m[1]);
    if (!e) return undefined;
    const h = Buffer.from(digest(e.salt, m[2]), "hex");
    return timingSafeEqual(h, e.hash) ? e.role : undefined;
  }
}

/** The key sent as `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === "string" && auth.startsWith("Bearer ")) return auth.slice(7).trim();
  const x = headers["x-api-key"];
  return typeof x === "string" ? x.trim() : undefined;
}

/** Checks the request's key against what the route needs; throws a coded 401/403. */
export function authorize(
  ring: KeyRing,
  headers: Record<string, string | string[] | undefined>,
  need: KeyRole,
): KeyRole {
  const key = presentedKey(headers);
  if (!key) {
    throw new NetwardenError("NW_SERVE_UNAUTHORIZED", `this route needs an API key (${need})`, {
      hint: "Send it as `Authorization: Bearer <key>` or `X-API-Key: <key>`; `netwarden serve keys create` makes one",
    });
  }
  const role = ring.roleOf(key);
  if (!role) {
    throw new NetwardenError("NW_SERVE_UNAUTHORIZED", "the API key is not valid", {
      hint: "Check the key; keys are shown once, when `netwarden serve keys create` makes them",
    });
  }
  if (need === "admin" && role !== "admin") {
    throw new NetwardenError("NW_SERVE_FORBIDDEN", "this route needs an admin key", {
      hint: "Use a key created with --role admin",
    });
  }
  return role;
}
