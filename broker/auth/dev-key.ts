// The development signing key: created on first start when no JWKS is configured, so a fresh
// checkout can mint tokens with `watershed token`. Never used when a JWKS is configured.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from "jose";

export const devKeyAlgorithm = "ES256";

export interface DevKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

interface DevKeyFile {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

export async function loadOrCreateDevKey(path: string): Promise<DevKey> {
  let stored: DevKeyFile;
  try {
    stored = JSON.parse(await readFile(path, "utf8")) as DevKeyFile;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new Error(`cannot read development key ${path}: ${(error as Error).message}`, { cause: error });
    }
    stored = await createDevKey(path);
  }
  const privateKey = (await importJWK(stored.privateJwk, devKeyAlgorithm)) as CryptoKey;
  return {
    kid: stored.kid,
    privateKey,
    publicJwk: { ...stored.publicJwk, kid: stored.kid, alg: devKeyAlgorithm },
  };
}

async function createDevKey(path: string): Promise<DevKeyFile> {
  const { privateKey, publicKey } = await generateKeyPair(devKeyAlgorithm, { extractable: true });
  const kid = `dev-${Date.now().toString(36)}`;
  const file: DevKeyFile = {
    kid,
    privateJwk: await exportJWK(privateKey),
    publicJwk: await exportJWK(publicKey),
  };
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // `wx`: if another process created it meanwhile, keep theirs.
  try {
    await writeFile(path, JSON.stringify(file), { mode: 0o600, flag: "wx" });
    return file;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return JSON.parse(await readFile(path, "utf8")) as DevKeyFile;
  }
}
