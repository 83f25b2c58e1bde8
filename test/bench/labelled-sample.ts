// A small labelled sample for comparing detection engines: chat messages holding data that must stay
// on-prem (card, ID and IBAN numbers with valid check digits, secrets), personal data the default
// policy lets through (e-mail addresses, phone numbers), and ordinary chat, some of it with numbers
// that look like the former but are not (failed check digits, order and tracking numbers, dates).
// Made in code, the same on every run, so the counts can be compared between runs.

export const SampleLabel = {
  /** Payment, identity or secret data: the default policy keeps the conversation on-prem. */
  sensitive: "sensitive",
  /** Personal contact data: detected, but not a reason to keep a conversation on-prem. */
  personal: "personal",
  /** Nothing personal or secret. */
  ordinary: "ordinary",
} as const;
export type SampleLabel = (typeof SampleLabel)[keyof typeof SampleLabel];

export interface LabelledText {
  text: string;
  label: SampleLabel;
  /** What it holds, e.g. "payment card"; "chat" for ordinary text. */
  kind: string;
}

/** The Luhn check digit appended to `payload`. */
function withLuhn(payload: string): string {
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    // From the right of the final number, every second digit (the check digit being first) doubles.
    let digit = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return payload + String((10 - (sum % 10)) % 10);
}

/** The same number with its last digit changed: the Luhn check then fails. */
function breakLast(number: string): string {
  const last = Number(number[number.length - 1]);
  return number.slice(0, -1) + String((last + 1) % 10);
}

const grouped = (digits: string, separator: string) => (digits.match(/.{1,4}/g) ?? []).join(separator);

/** GB 11171-2019 (ISO 7064 MOD 11-2) check character of a resident ID's first 17 digits. */
function residentId(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((total, weight, i) => total + weight * Number(first17[i]), 0);
  return first17 + ("10X98765432"[sum % 11] as string);
}

/** ISO 13616 check digits (mod 97) for a country code and BBAN. */
function iban(country: string, bban: string): string {
  const numeric = `${bban}${country}00`
    .toUpperCase()
    .split("")
    .map((c) => (/[A-Z]/.test(c) ? String(c.charCodeAt(0) - 55) : c))
    .join("");
  let remainder = 0;
  for (const digit of numeric) remainder = (remainder * 10 + Number(digit)) % 97;
  return `${country}${String(98 - remainder).padStart(2, "0")}${bban}`;
}

export function labelledSample(): LabelledText[] {
  const visa = withLuhn("411111111111111");
  const mastercard = withLuhn("545454545454545");
  const amex = withLuhn("37828224631000");
  const unionPay = withLuhn("621700012345678901".slice(0, 18));
  const id1 = residentId("11010519491231002");
  const id2 = residentId("44030419851107231");
  const gbIban = iban("GB", "WEST12345698765432");
  const deIban = iban("DE", "370400440532013000");
  const sensitive: Array<[string, string]> = [
    ["payment card", `Can you put the hotel on my card ${grouped(visa, " ")}? Expires 04/28.`],
    ["payment card", `card number ${grouped(mastercard, "-")} for the vendor deposit`],
    ["payment card", `Amex ${amex}, the usual one for travel`],
    ["payment card", `New corporate card: ${visa}`],
    ["payment card", `银行卡号 ${unionPay} 请尽快转账`],
    ["payment card", `Use ${grouped(mastercard, " ")} this time, the other one was declined`],
    ["resident ID", `His ID number is ${id1}, please update the HR record`],
    ["resident ID", `身份证号 ${id2}`],
    ["resident ID", `Registration needs ${id1.slice(0, 17)}x for the visitor pass`],
    ["IBAN", `Please transfer the refund to ${gbIban}`],
    ["IBAN", `IBAN: ${grouped(deIban, " ")}`],
    ["IBAN", `Bank details for the invoice: ${deIban} (Commerzbank)`],
    ["US SSN", "My SSN is 536-22-1498 for the background check"],
    ["US SSN", "social security 412-67-3301 on the W-4 looks wrong"],
    ["passport", "Passport E12345678, flight on Friday"],
    ["AWS key", "aws access key AKIAIOSFODNN7EXAMPLE with secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
    ["GitHub token", "use this token ghp_16C7e42F292c6912E7710c838347Ae178B4a for the CI job"],
    ["Slack token", "bot token is xoxb-2048613570921-5109826437711-Qa7cWm2ZrT9bLx4NvK8pHs3D"],
    ["password", "the staging login is admin / password: Winter2026!"],
    ["private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7b3x\n-----END RSA PRIVATE KEY-----"],
  ];
  const personal: Array<[string, string]> = [
    ["e-mail", "Ping me at jamie.lee@example.com if the printer jams again."],
    ["e-mail", "Send the deck to priya.natarajan@contoso.co.uk before noon"],
    ["e-mail", "cc wei.zhang@example.cn on the release notes"],
    ["phone", "Call me on +44 20 7946 0958 after lunch"],
    ["phone", "my mobile is 07700 900123 if the room is locked"],
    ["phone", "The vendor's support line is +1 (415) 555-0132, ask for Sam."],
    ["phone", "手机 13800138000 随时联系"],
  ];
  const ordinary: Array<[string, string]> = [
    ["chat", "Can we move the standup to 10:30 tomorrow?"],
    ["chat", "Sure, I'll send the notes right after."],
    ["chat", "The build on main is green again since 14:05."],
    ["chat", "Ticket OPS-4821 is waiting for review, 3 files changed."],
    ["chat", "Lunch at the usual place at 12:15, table for 6."],
    ["chat", "The offsite is on 2026-12-14, agenda in the shared folder."],
    ["chat", "Release 3.18.2 went out to 40% of users this morning."],
    ["chat", "Invoice total came to 1,240.50 EUR including shipping."],
    ["chat", "See https://wiki.example.com/onboarding/week-1 for the checklist."],
    ["chat", "Room 4B is booked from 15:00 to 16:30 for the design review."],
    ["chat", "Latency p99 dropped from 310 ms to 95 ms after the fix."],
    ["chat", "Thanks everyone, great demo today!"],
    ["chat", "I'm out on Friday, back on Monday the 8th."],
    ["chat", "Order #88213 shipped, tracking should update tonight."],
    ["chat", "明天下午三点开会，请准时参加。"],
    ["card-like number", `Tracking number ${grouped(breakLast(visa), " ")} from the courier`],
    ["card-like number", `Serial ${breakLast(mastercard)} on the returned laptop`],
    ["ID-like number", `Batch ${id1.slice(0, 17)}5 of the nightly export`],
    ["IBAN-like text", `Reference ${gbIban.slice(0, 2)}00${gbIban.slice(4)} is not a bank account`],
    ["numbers", "The quarterly numbers: 1234567, 2345678 and 3456789 units."],
    ["numbers", "Build 2026.11.30.1742 is the release candidate."],
    ["numbers", "Version 10.0.19045.3803 of the OS is on all the laptops."],
    ["numbers", "PO 4500012345 was approved, delivery in 3-5 days."],
  ];
  const make = (label: SampleLabel) => (item: [string, string]) => ({ kind: item[0], text: item[1], label });
  return [
    ...sensitive.map(make(SampleLabel.sensitive)),
    ...personal.map(make(SampleLabel.personal)),
    ...ordinary.map(make(SampleLabel.ordinary)),
  ];
}
