// Helpers for the detector tests: valid identifiers built from their rules, and fast-check
// arbitraries that generate them. Not part of the public surface.
import fc from "fast-check";
import { CN_PROVINCE_CODES, cnResidentIdCheckChar, IBAN_LENGTHS, ibanCheckDigits } from "./validators.ts";

/** Appends the Luhn check digit to a string of digits. */
export function withLuhnDigit(payload: string): string {
  for (let d = 0; d <= 9; d++) {
    const candidate = payload + String(d);
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let v = Number(candidate[candidate.length - 1 - i]);
      if (i % 2 === 1) {
        v *= 2;
        if (v > 9) v -= 9;
      }
      sum += v;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error("unreachable");
}

const digits = (length: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: length, maxLength: length });

/** Issuer prefixes with their lengths, one entry per scheme range. */
const CARD_SHAPES: readonly { prefix: fc.Arbitrary<string>; lengths: readonly number[] }[] = [
  { prefix: fc.constant("4"), lengths: [13, 16, 19] },
  { prefix: fc.integer({ min: 51, max: 55 }).map(String), lengths: [16] },
  { prefix: fc.integer({ min: 2221, max: 2720 }).map(String), lengths: [16] },
  { prefix: fc.constantFrom("34", "37"), lengths: [15] },
  { prefix: fc.constant("62"), lengths: [16, 17, 18, 19] },
  { prefix: fc.integer({ min: 3528, max: 3589 }).map(String), lengths: [16, 17, 18, 19] },
  {
    prefix: fc.constantFrom("6011", "644", "645", "646", "647", "648", "649", "65"),
    lengths: [16, 17, 18, 19],
  },
];

/** A Luhn-valid card number of a known issuer, unbroken. */
export const cardNumber: fc.Arbitrary<string> = fc
  .constantFrom(...CARD_SHAPES)
  .chain(({ prefix, lengths }) => fc.tuple(prefix, fc.constantFrom(...lengths)))
  .chain(([prefix, length]) =>
    digits(length - prefix.length - 1).map((body) => withLuhnDigit(prefix + body)),
  );

/** A card number as people write it: unbroken, or 4-4-4-4 with spaces or dashes when it has 16 digits. */
export const writtenCardNumber: fc.Arbitrary<string> = fc
  .tuple(cardNumber, fc.constantFrom("", " ", "-"))
  .map(([number, separator]) =>
    number.length === 16 && separator !== "" ? (number.match(/\d{4}/g) ?? []).join(separator) : number,
  );

/** A resident ID with a real region, a birth date from 1900 to yesterday and its check character. */
export const residentId: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom(...CN_PROVINCE_CODES),
    digits(4),
    fc.date({ min: new Date(1900, 0, 1), max: new Date(Date.now() - 86_400_000), noInvalidDate: true }),
    digits(3),
    fc.boolean(),
  )
  .map(([province, region, birth, sequence, lowerX]) => {
    const date =
      String(birth.getFullYear()) +
      String(birth.getMonth() + 1).padStart(2, "0") +
      String(birth.getDate()).padStart(2, "0");
    const first17 = `${province}${region}${date}${sequence}`;
    const check = cnResidentIdCheckChar(first17);
    return first17 + (lowerX ? check.toLowerCase() : check);
  });

/** An IBAN of a known country with a random alphanumeric BBAN, compact or in groups of four. */
export const ibanNumber: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...Object.entries(IBAN_LENGTHS)), fc.boolean())
  .chain(([[country, length], grouped]) =>
    fc
      .string({
        unit: fc.constantFrom(..."0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        minLength: length - 4,
        maxLength: length - 4,
      })
      .map((bban) => {
        const compact = country + ibanCheckDigits(country, bban) + bban;
        return grouped ? (compact.match(/.{1,4}/g) ?? []).join(" ") : compact;
      }),
  );

/** Every string that differs from `value` in exactly one digit (a digit replaced by another). */
export function singleDigitChanges(value: string): string[] {
  const changed: string[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i] ?? "";
    if (c < "0" || c > "9") continue;
    for (let d = 0; d <= 9; d++) {
      if (String(d) !== c) changed.push(value.slice(0, i) + String(d) + value.slice(i + 1));
    }
  }
  return changed;
}
