// OLE compound files ([MS-CFB]) hold legacy Office documents (.doc, .xls, .ppt, .msg) and encrypted
// OOXML ([MS-OFFCRYPTO] §2.3.4: an "EncryptedPackage" stream). Neither is read; this only tells
// which one it is, for the reason given.
import { InspectionReason } from "./reasons.ts";

const ENCRYPTED_PACKAGE = Buffer.from("EncryptedPackage", "utf16le");

export function cfbReason(bytes: Uint8Array): InspectionReason {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(ENCRYPTED_PACKAGE)
    ? InspectionReason.encryptedOffice
    : InspectionReason.oleContainer;
}
