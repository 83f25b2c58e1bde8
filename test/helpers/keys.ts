// A test identity provider: an ES256 key whose JWKS is written to a file the broker trusts.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export const testIssuer = "https://idp.test.invalid";
export const testAudience = "watershed-test";

export interface TestKeys {
  jwksFile: string;
  token(sub: string, roles?: string[]): Promise<string>;
}

export async function createTestKeys(dir: string): Promise<TestKeys> {
  const { privateKey, publicKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "test-1", alg: "ES256", use: "sig" };
  const jwksFile = join(dir, "jwks.json");
  await writeFile(jwksFile, JSON.stringify({ keys: [jwk] }));
  return {
    jwksFile,
    token: (sub, roles = []) =>
      new SignJWT({ roles })
        .setProtectedHeader({ alg: "ES256", kid: "test-1" })
        .setSubject(sub)
        .setIssuer(testIssuer)
        .setAudience(testAudience)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
  };
}
