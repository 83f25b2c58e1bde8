// Mints development tokens signed by the development key (`watershed token`).
import { SignJWT } from "jose";
import { devKeyAlgorithm, loadOrCreateDevKey } from "./dev-key.ts";

export interface MintOptions {
  sub: string;
  roles: string[];
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

export async function mintDevToken(devKeyFile: string, options: MintOptions): Promise<string> {
  const key = await loadOrCreateDevKey(devKeyFile);
  return new SignJWT({ roles: options.roles })
    .setProtectedHeader({ alg: devKeyAlgorithm, kid: key.kid, typ: "JWT" })
    .setSubject(options.sub)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds}s`)
    .sign(key.privateKey);
}
