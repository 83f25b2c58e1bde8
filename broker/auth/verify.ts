// Bearer token verification with pinned algorithms, issuer, audience and a required expiry.
import { readFile } from "node:fs/promises";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from "jose";
import { PrincipalId, StoredText } from "../../policies/model.ts";
import type { Config } from "../config/index.ts";
import { devKeyAlgorithm, loadOrCreateDevKey } from "./dev-key.ts";

export interface Principal {
  id: string;
  roles: string[];
  /** The token's `groups` claim: teams or directory groups. */
  groups: string[];
  /** The token's `department` claim. */
  department: string | null;
}

export class AuthError extends Error {
  override name = "AuthError";
}

export type TokenVerifier = (token: string) => Promise<Principal>;

export interface VerifierSetup {
  verify: TokenVerifier;
  /** True when tokens are checked against the development key. */
  devMode: boolean;
}

export async function createVerifier(auth: Config["auth"]): Promise<VerifierSetup> {
  let keys: JWTVerifyGetKey;
  let algorithms: string[] = auth.algorithms;
  let devMode = false;
  if (auth.jwksUrl) {
    keys = createRemoteJWKSet(new URL(auth.jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30_000 });
  } else if (auth.jwksFile) {
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(await readFile(auth.jwksFile, "utf8")) as JSONWebKeySet;
    } catch (error) {
      throw new Error(`cannot read JWKS file ${auth.jwksFile}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    keys = createLocalJWKSet(jwks);
  } else {
    const devKey = await loadOrCreateDevKey(auth.devKeyFile);
    keys = createLocalJWKSet({ keys: [devKey.publicJwk] });
    algorithms = [devKeyAlgorithm];
    devMode = true;
  }
  const verify: TokenVerifier = async (token) => {
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms,
        issuer: auth.issuer,
        audience: auth.audience,
        requiredClaims: ["exp", "sub"],
        clockTolerance: 5,
      });
      const roles = stringList(payload.roles);
      // jose checks that `sub` is present, not that it is an identity we can use.
      const sub = PrincipalId.safeParse(payload.sub);
      if (!sub.success) throw new AuthError("token claim 'sub' is invalid");
      const department = StoredText.safeParse(payload.department).data ?? null;
      return { id: sub.data, roles, groups: stringList(payload.groups), department };
    } catch (error) {
      if (error instanceof AuthError) throw error;
      // The reason names the failed check, never the token.
      if (error instanceof joseErrors.JOSEError) throw new AuthError(describeJoseError(error));
      throw new AuthError("token could not be verified");
    }
  };
  return { verify, devMode };
}

/** A claim that should be a list of strings; anything else counts as empty. */
function stringList(claim: unknown): string[] {
  return Array.isArray(claim)
    ? claim.filter((item): item is string => StoredText.safeParse(item).success)
    : [];
}

function describeJoseError(error: InstanceType<typeof joseErrors.JOSEError>): string {
  if (error instanceof joseErrors.JWTExpired) return "token expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `token claim '${error.claim}' is invalid`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "token algorithm is not allowed";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "token signature is invalid";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "no key matches the token";
  if (error instanceof joseErrors.JWTInvalid || error instanceof joseErrors.JWSInvalid)
    return "token is malformed";
  return "token could not be verified";
}
