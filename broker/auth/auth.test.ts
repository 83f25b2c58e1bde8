import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import type { CryptoKey, JWTPayload } from "jose";
import { ConfigSchema } from "../config/index.ts";
import type { Config } from "../config/index.ts";
import { AuthError, createVerifier, mintDevToken } from "./index.ts";
import type { TokenVerifier } from "./index.ts";

const ISSUER = "https://idp.example.test";
const AUDIENCE = "watershed-test";

type AuthConfig = Config["auth"];

function authConfig(auth: Record<string, unknown>): AuthConfig {
  return ConfigSchema.parse({ auth: { issuer: ISSUER, audience: AUDIENCE, ...auth } }).auth;
}

interface Signer {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
}

const now = () => Math.floor(Date.now() / 1000);

function sign(
  signer: Signer,
  claims: JWTPayload,
  options: { sub?: string | null; iss?: string; aud?: string; exp?: number | null } = {},
): Promise<string> {
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: "JWT" })
    .setIssuedAt();
  if (options.sub !== null) jwt.setSubject(options.sub ?? "alice");
  jwt.setIssuer(options.iss ?? ISSUER);
  jwt.setAudience(options.aud ?? AUDIENCE);
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? now() + 300);
  return jwt.sign(signer.privateKey);
}

async function rejection(verify: TokenVerifier, token: string): Promise<AuthError> {
  const error = await verify(token).then(
    (principal) => assert.fail(`token was accepted as ${JSON.stringify(principal)}`),
    (error: unknown) => error,
  );
  assert.ok(error instanceof AuthError, `expected an AuthError, got ${String(error)}`);
  // The message names the failed check and never carries the token or any part of it.
  assert.ok(!error.message.includes(token) || token === "", error.message);
  for (const part of token.split(".")) {
    if (part.length >= 8)
      assert.ok(!error.message.includes(part), `message leaks a token part: ${error.message}`);
  }
  return error;
}

describe("createVerifier with a JWKS file", () => {
  let dir: string;
  let auth: AuthConfig;
  let verify: TokenVerifier;
  let es: Signer;
  let rsa: Signer;
  let stranger: Signer;
  let pss: Signer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "watershed-auth-"));
    const esPair = await generateKeyPair("ES256", { extractable: true });
    const rsaPair = await generateKeyPair("RS256", { extractable: true });
    const strangerPair = await generateKeyPair("ES256", { extractable: true });
    const pssPair = await generateKeyPair("PS256", { extractable: true });
    pss = { alg: "PS256", kid: "ps-1", privateKey: pssPair.privateKey };
    es = { alg: "ES256", kid: "es-1", privateKey: esPair.privateKey };
    rsa = { alg: "RS256", kid: "rsa-1", privateKey: rsaPair.privateKey };
    // Same kid as the trusted key, different key material.
    stranger = { alg: "ES256", kid: "es-1", privateKey: strangerPair.privateKey };
    const jwks = {
      keys: [
        { ...(await exportJWK(esPair.publicKey)), kid: "es-1", use: "sig" },
        { ...(await exportJWK(rsaPair.publicKey)), kid: "rsa-1", use: "sig" },
        // No `alg` on this RSA key, so only the verifier's `algorithms` list refuses PS256.
        { ...(await exportJWK(pssPair.publicKey)), kid: "ps-1", use: "sig" },
      ],
    };
    const jwksFile = join(dir, "jwks.json");
    await writeFile(jwksFile, JSON.stringify(jwks));
    auth = authConfig({ jwksFile, devKeyFile: join(dir, "dev", "dev-key.json") });
    const setup = await createVerifier(auth);
    assert.equal(setup.devMode, false);
    verify = setup.verify;
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("the config is built from the schema with the default algorithms", () => {
    assert.deepEqual(auth.algorithms, ["ES256", "RS256", "EdDSA"]);
    assert.equal(auth.issuer, ISSUER);
  });

  test("a valid ES256 token gives {id: sub, roles}", async () => {
    const token = await sign(es, { roles: ["admin", "security"] }, { sub: "alice@example.test" });
    assert.deepEqual(await verify(token), {
      id: "alice@example.test",
      roles: ["admin", "security"],
      groups: [],
      department: null,
    });
  });

  test("a valid RS256 token from the same JWKS verifies", async () => {
    const token = await sign(rsa, { roles: ["user"] }, { sub: "bob" });
    assert.deepEqual(await verify(token), { id: "bob", roles: ["user"], groups: [], department: null });
  });

  test("groups and department come from their claims", async () => {
    const token = await sign(es, { groups: ["payroll", 3], department: "Finance" }, { sub: "dave" });
    assert.deepEqual(await verify(token), {
      id: "dave",
      roles: [],
      groups: ["payroll"],
      department: "Finance",
    });
  });

  test("roles default to [] and non-string roles are dropped", async () => {
    assert.deepEqual(await verify(await sign(es, {}, { sub: "carol" })), {
      id: "carol",
      roles: [],
      groups: [],
      department: null,
    });
    assert.deepEqual(await verify(await sign(es, { roles: "admin" }, { sub: "carol" })), {
      id: "carol",
      roles: [],
      groups: [],
      department: null,
    });
    const mixed = await sign(es, { roles: ["user", 7, null, { admin: true }] }, { sub: "carol" });
    assert.deepEqual(await verify(mixed), { id: "carol", roles: ["user"], groups: [], department: null });
  });

  test("the development key is not created when a JWKS is configured", async () => {
    await assert.rejects(stat(auth.devKeyFile), { code: "ENOENT" });
  });

  test("rejects an expired token", async () => {
    const error = await rejection(verify, await sign(es, {}, { exp: now() - 120 }));
    assert.match(error.message, /expired/);
  });

  test("rejects a token without exp", async () => {
    const error = await rejection(verify, await sign(es, {}, { exp: null }));
    assert.match(error.message, /'exp'/);
  });

  test("rejects a token without sub", async () => {
    const error = await rejection(verify, await sign(es, {}, { sub: null }));
    assert.match(error.message, /'sub'/);
  });

  test("rejects a token from another issuer", async () => {
    const error = await rejection(verify, await sign(es, {}, { iss: "https://evil.example.test" }));
    assert.match(error.message, /'iss'/);
  });

  test("rejects a token for another audience", async () => {
    const error = await rejection(verify, await sign(es, {}, { aud: "some-other-api" }));
    assert.match(error.message, /'aud'/);
  });

  test("rejects a token that is not valid yet (nbf)", async () => {
    const error = await rejection(verify, await sign(es, { nbf: now() + 600 }));
    assert.match(error.message, /'nbf'/);
  });

  test("rejects an HS256 token signed with a shared secret", async () => {
    const secret = new TextEncoder().encode("a-shared-secret-of-at-least-32-bytes!!");
    const token = await new SignJWT({ roles: ["admin"] })
      .setProtectedHeader({ alg: "HS256", kid: "es-1" })
      .setSubject("mallory")
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 300)
      .sign(secret);
    const error = await rejection(verify, token);
    assert.match(error.message, /algorithm is not allowed/);
  });

  test("rejects an unsecured alg:none token", async () => {
    const token = new UnsecuredJWT({ roles: ["admin"] })
      .setSubject("mallory")
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(now() + 300)
      .encode();
    const error = await rejection(verify, token);
    assert.match(error.message, /algorithm is not allowed|malformed/);
  });

  test("rejects PS256 (not in algorithms) even when signed by a key in the JWKS", async () => {
    const token = await sign(pss, {});
    const error = await rejection(verify, token);
    assert.match(error.message, /algorithm is not allowed/);
  });

  test("rejects a signature by another key with the trusted kid", async () => {
    const error = await rejection(verify, await sign(stranger, {}));
    assert.match(error.message, /signature is invalid/);
  });

  test("rejects a signature by a key whose kid is not in the JWKS", async () => {
    const error = await rejection(verify, await sign({ ...stranger, kid: "unknown-kid" }, {}));
    assert.match(error.message, /no key matches/);
  });

  test("rejects a token whose payload was altered after signing", async () => {
    const token = await sign(es, { roles: ["user"] });
    const [header, , signature] = token.split(".");
    const forged = Buffer.from(
      JSON.stringify({ sub: "alice", roles: ["admin"], iss: ISSUER, aud: AUDIENCE, exp: now() + 300 }),
    ).toString("base64url");
    const error = await rejection(verify, `${header}.${forged}.${signature}`);
    assert.match(error.message, /signature is invalid/);
  });

  for (const garbage of ["", "garbage", "not.a.jwt", "eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl", "a.b.c.d.e"]) {
    test(`rejects garbage ${JSON.stringify(garbage)}`, async () => {
      const error = await rejection(verify, garbage);
      assert.ok(error.message.length > 0);
    });
  }

  test("rejects a token whose sub is not a non-empty string", async () => {
    await rejection(verify, await sign(es, { sub: 42 as unknown as string }, { sub: null }));
    await rejection(verify, await sign(es, {}, { sub: "" }));
  });

  test("dev tokens are rejected when a JWKS is configured", async () => {
    const token = await mintDevToken(auth.devKeyFile, {
      sub: "dev-user",
      roles: ["admin"],
      issuer: auth.issuer,
      audience: auth.audience,
      ttlSeconds: 300,
    });
    await rejection(verify, token);
  });

  test("a missing JWKS file stops the verifier from starting, naming the file", async () => {
    const missing = join(dir, "missing-jwks.json");
    await assert.rejects(createVerifier(authConfig({ jwksFile: missing })), (error: Error) =>
      error.message.includes(missing),
    );
  });
});

describe("createVerifier in development mode", () => {
  let dir: string;
  let auth: AuthConfig;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "watershed-devkey-"));
    auth = authConfig({ devKeyFile: join(dir, "state", "dev-key.json") });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("creates the dev key with mode 0600 and verifies minted tokens", async () => {
    assert.equal(auth.jwksFile, undefined);
    assert.equal(auth.jwksUrl, undefined);
    await assert.rejects(stat(auth.devKeyFile), { code: "ENOENT" });

    const setup = await createVerifier(auth);
    assert.equal(setup.devMode, true);
    const info = await stat(auth.devKeyFile);
    assert.equal(info.mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, "state"))).mode & 0o777, 0o700);

    const token = await mintDevToken(auth.devKeyFile, {
      sub: "dev-user",
      roles: ["admin", "user"],
      issuer: auth.issuer,
      audience: auth.audience,
      ttlSeconds: 60,
    });
    assert.deepEqual(await setup.verify(token), {
      id: "dev-user",
      roles: ["admin", "user"],
      groups: [],
      department: null,
    });
  });

  test("a second verifier reuses the same key file", async () => {
    const before = await readFile(auth.devKeyFile, "utf8");
    const token = await mintDevToken(auth.devKeyFile, {
      sub: "dev-user",
      roles: [],
      issuer: auth.issuer,
      audience: auth.audience,
      ttlSeconds: 60,
    });
    const setup = await createVerifier(auth);
    assert.equal(await readFile(auth.devKeyFile, "utf8"), before);
    assert.deepEqual(await setup.verify(token), { id: "dev-user", roles: [], groups: [], department: null });
  });

  test("dev mode still checks audience, issuer and expiry", async () => {
    const { verify } = await createVerifier(auth);
    const base = { sub: "dev-user", roles: [], issuer: auth.issuer, audience: auth.audience, ttlSeconds: 60 };
    await rejection(verify, await mintDevToken(auth.devKeyFile, { ...base, audience: "elsewhere" }));
    await rejection(verify, await mintDevToken(auth.devKeyFile, { ...base, issuer: "elsewhere" }));
    const expired = await rejection(
      verify,
      await mintDevToken(auth.devKeyFile, { ...base, ttlSeconds: -60 }),
    );
    assert.match(expired.message, /expired/);
  });

  test("dev mode rejects a token signed by another key", async () => {
    const { verify } = await createVerifier(auth);
    const kid = (JSON.parse(await readFile(auth.devKeyFile, "utf8")) as { kid: string }).kid;
    const other = await generateKeyPair("ES256");
    const error = await rejection(
      verify,
      await sign({ alg: "ES256", kid, privateKey: other.privateKey }, {}),
    );
    assert.match(error.message, /signature is invalid/);
  });
});
