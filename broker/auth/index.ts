export { mintDevToken } from "./mint.ts";
export type { MintOptions } from "./mint.ts";
export { AuthError, createVerifier } from "./verify.ts";
export type { Principal, TokenVerifier, VerifierSetup } from "./verify.ts";
