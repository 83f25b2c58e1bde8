import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ValidatorName } from "./types.ts";
import {
  cnResidentId,
  cnResidentIdCheckChar,
  emailAddress,
  iban,
  IBAN_LENGTHS,
  ibanCheckDigits,
  ipAddress,
  luhn,
  passwordValue,
  paymentCard,
  phoneNumber,
  slackToken,
  usSsn,
  validators,
} from "./validators.ts";
import { withLuhnDigit } from "./test-support.ts";

describe("luhn", () => {
  it("accepts Luhn-valid numbers, grouped or not", () => {
    for (const n of ["79927398713", "4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111", "00"]) {
      assert.equal(luhn(n), true, n);
    }
  });
  it("refuses a wrong check digit, other characters and mixed or doubled separators", () => {
    for (const n of [
      "79927398710",
      "4111111111111112",
      "4111 1111-1111 1111",
      "4111  1111",
      " 4111",
      "4111a",
      "",
      "0",
    ]) {
      assert.equal(luhn(n), false, n);
    }
  });
});

describe("paymentCard", () => {
  const valid = {
    "visa 16": "4111111111111111",
    "visa 16 b": "4012888888881881",
    "visa 13": "4222222222222",
    mastercard: "5555555555554444",
    "mastercard 51": "5105105105105100",
    "mastercard 2-series": "2223000048400011",
    amex: "378282246310005",
    "amex 34": "371449635398431",
    "discover 6011": "6011111111111117",
    "discover 65": "6555900000604105",
    jcb: "3530111333300000",
    "jcb 3566": "3566002020360505",
    unionpay: "6200000000000005",
    "unionpay 19": "6205500000000000004",
    "grouped spaces": "4111 1111 1111 1111",
    "grouped dashes": "5555-5555-5555-4444",
    "amex 4-6-5": "3782 822463 10005",
  };
  for (const [name, number] of Object.entries(valid)) {
    it(`accepts ${name}`, () => assert.equal(paymentCard(number), true));
  }
  it("refuses a Luhn-invalid number with a valid issuer and length", () => {
    assert.equal(paymentCard("4111111111111112"), false);
    assert.equal(paymentCard("378282246310006"), false);
  });
  it("refuses Luhn-valid numbers without a known issuer prefix or with the issuer's wrong length", () => {
    assert.equal(paymentCard(withLuhnDigit("123456789012345")), false, "issuer 1");
    assert.equal(
      paymentCard(withLuhnDigit("36227206271667".slice(0, 13))),
      false,
      "Diners is not in the list",
    );
    assert.equal(paymentCard(withLuhnDigit("340000000000000")), false, "Amex with 16 digits");
    assert.equal(paymentCard(withLuhnDigit("55000000000000000")), false, "Mastercard with 18 digits");
    assert.equal(paymentCard(withLuhnDigit("272100000000000")), false, "2721 is past the Mastercard range");
    assert.equal(paymentCard(withLuhnDigit("41111111111111")), false, "Visa with 15 digits");
    assert.equal(paymentCard(withLuhnDigit("41111111111")), false, "too short");
    assert.equal(paymentCard(withLuhnDigit("4111111111111111111")), false, "too long");
  });
  it("refuses groupings a card is not written in", () => {
    assert.equal(paymentCard("41 11111111111111"), false, "first group not four digits");
    assert.equal(paymentCard("4111 1111-1111 1111"), false, "mixed separators");
    assert.equal(paymentCard("4111.1111.1111.1111"), false, "dots");
  });
});

describe("cnResidentId", () => {
  const now = new Date(2025, 5, 15);
  it("accepts a valid number, with X or x as the check character", () => {
    assert.equal(cnResidentId("11010519491231002X", now), true);
    assert.equal(cnResidentId("11010519491231002x", now), true);
    const first17 = "44030420000229123";
    assert.equal(cnResidentId(first17 + cnResidentIdCheckChar(first17), now), true, "leap day 2000");
  });
  it("refuses a wrong check character", () => {
    assert.equal(cnResidentId("110105194912310021", now), false);
    assert.equal(cnResidentId("11010519491231002Y", now), false);
  });
  const withCheck = (first17: string): string => first17 + cnResidentIdCheckChar(first17);
  it("refuses impossible or future birth dates even with a correct check character", () => {
    for (const first17 of [
      "11010519990231001", // 31 February
      "11010519000229001", // 1900 was not a leap year
      "11010518991231001", // before 1900
      "11010520251301001", // month 13
      "11010520250616001", // the day after `now`
      "11010520990101001", // the future
      "11010519490000001", // day 0
    ]) {
      assert.equal(cnResidentId(withCheck(first17), now), false, first17);
    }
    assert.equal(cnResidentId(withCheck("11010520250615001"), now), true, "today");
  });
  it("refuses unknown province codes", () => {
    for (const province of [
      "10",
      "16",
      "20",
      "24",
      "38",
      "47",
      "55",
      "66",
      "70",
      "72",
      "80",
      "83",
      "90",
      "92",
      "99",
    ]) {
      assert.equal(cnResidentId(withCheck(`${province}010519491231002`), now), false, province);
    }
    for (const province of ["11", "15", "23", "37", "46", "54", "65", "71", "81", "82", "91"]) {
      assert.equal(cnResidentId(withCheck(`${province}010519491231002`), now), true, province);
    }
  });
  it("refuses other lengths and characters", () => {
    assert.equal(cnResidentId("1101051949123100", now), false);
    assert.equal(cnResidentId("11010519491231002X1", now), false);
    assert.equal(cnResidentId("1101051949123100X2", now), false);
  });
});

describe("iban", () => {
  const valid = [
    "GB82 WEST 1234 5698 7654 32",
    "GB82WEST12345698765432",
    "DE89370400440532013000",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91 ABNA 0417 1643 00",
    "BE68 5390 0754 7034",
    "CH93 0076 2011 6238 5295 7",
    "NO93 8601 1117 947",
    "MT84 MALT 0110 0001 2345 MTLC AST0 01S",
    "SA03 8000 0000 6080 1016 7519",
    "QA58 DOHB 0000 1234 5678 90AB CDEF G",
    "XK05 1212 0123 4567 8906",
    "VG96 VPVG 0000 0123 4567 8901",
    "gb82west12345698765432",
  ];
  for (const number of valid) it(`accepts ${number}`, () => assert.equal(iban(number), true));
  it("refuses a wrong check", () => {
    assert.equal(iban("GB82 WEST 1234 5698 7654 33"), false);
    assert.equal(iban("DE88370400440532013000"), false);
  });
  it("refuses unknown countries, wrong lengths, bad groupings and reserved check digits", () => {
    const bban = "370400440532013000";
    assert.equal(iban(`ZZ${ibanCheckDigits("ZZ", bban)}${bban}`), false, "unknown country");
    assert.equal(iban(`DE${ibanCheckDigits("DE", bban + "1")}${bban}1`), false, "DE with 23 characters");
    assert.equal(iban("GB82 WEST 123456 98 7654 32"), false, "groups not of four");
    assert.equal(iban("GB82  WEST 1234 5698 7654 32"), false, "double space");
    assert.equal(iban("DE00370400440532013000"), false);
  });
  it("computes check digits that validate", () => {
    for (const [country, length] of Object.entries(IBAN_LENGTHS)) {
      const bban = "1".repeat(length - 4);
      assert.equal(iban(country + ibanCheckDigits(country, bban) + bban), true, country);
    }
  });
  it("knows at least the countries of the brief, with ISO 13616 lengths", () => {
    const required =
      "AD AE AL AT AZ BA BE BG BH BR CH CR CY CZ DE DK DO EE ES FI FO FR GB GE GI GL GR GT HR HU IE IL IS IT JO KW KZ LB LI LT LU LV MC MD ME MK MR MT MU NL NO PK PL PS PT QA RO RS SA SE SI SK SM TN TR UA VG XK";
    for (const country of required.split(" ")) assert.ok(IBAN_LENGTHS[country], country);
    assert.equal(IBAN_LENGTHS["NO"], 15);
    assert.equal(IBAN_LENGTHS["MT"], 31);
    assert.equal(IBAN_LENGTHS["DE"], 22);
  });
});

describe("usSsn", () => {
  it("accepts AAA-GG-SSSS with an issuable area, group and serial", () => {
    for (const ssn of ["123-45-6789", "001-01-0001", "665-99-9999", "899-12-3456"])
      assert.equal(usSsn(ssn), true, ssn);
  });
  it("refuses area 000, 666, 900-999, group 00, serial 0000, published numbers and other forms", () => {
    for (const ssn of [
      "000-12-3456",
      "666-12-3456",
      "900-12-3456",
      "999-12-3456",
      "123-00-4567",
      "123-45-0000",
      "078-05-1120",
      "123456789",
      "123 45 6789",
      "123-45-67890",
    ]) {
      assert.equal(usSsn(ssn), false, ssn);
    }
  });
});

describe("emailAddress", () => {
  it("accepts ordinary addresses", () => {
    for (const a of ["alice@example.com", "alice.smith+tag@mail.example.co.uk", "a_b%c-d@x-y.io"]) {
      assert.equal(emailAddress(a), true, a);
    }
  });
  it("refuses malformed ones", () => {
    for (const a of [
      "alice@example",
      ".alice@example.com",
      "alice.@example.com",
      "a..b@example.com",
      "a@-x.com",
      "a@x-.com",
      "a@x..com",
      "a@x.c0m",
      "@example.com",
    ]) {
      assert.equal(emailAddress(a), false, a);
    }
  });
});

describe("ipAddress", () => {
  it("accepts IPv4 and IPv6", () => {
    for (const a of [
      "192.168.1.1",
      "0.0.0.0",
      "255.255.255.255",
      "::1",
      "fe80::1",
      "2001:db8::ff00:42:8329",
      "2001:0db8:0000:0000:0000:ff00:0042:8329",
    ]) {
      assert.equal(ipAddress(a), true, a);
    }
  });
  it("refuses out-of-range octets, leading zeros, times, MAC addresses and double compression", () => {
    for (const a of [
      "256.1.1.1",
      "1.2.3",
      "1.2.3.4.5",
      "192.168.01.1",
      "10:30:45",
      "00:1A:2B:3C:4D:5E",
      "1::2::3",
      "::",
      "12345::1",
      "1:2:3:4:5:6:7",
    ]) {
      assert.equal(ipAddress(a), false, a);
    }
  });
});

describe("phoneNumber", () => {
  it("accepts international numbers with 8 to 15 digits and Chinese mobile numbers", () => {
    for (const n of [
      "+1 (415) 555-2671",
      "+86 138 0013 8000",
      "+8613800138000",
      "+44 20 7946 0958",
      "13800138000",
      "138 0013 8000",
      "138-0013-8000",
    ]) {
      assert.equal(phoneNumber(n), true, n);
    }
  });
  it("refuses too few or too many digits, a country code 0, odd punctuation and other mobile shapes", () => {
    for (const n of [
      "+1 234 567",
      "+1234567890123456",
      "+0 415 555 2671",
      "+1 ((415)) 555 2671",
      "+1 415)(555 2671",
      "12800138000",
      "1380013800",
      "1380 013 8000",
      "138 0013-8000",
    ]) {
      assert.equal(phoneNumber(n), false, n);
    }
  });
});

describe("passwordValue", () => {
  it("accepts real-looking values", () => {
    for (const v of ["hunter22", "Tr0ub4dor&3", "s3cret!", "abc123", "$ecret1x", "correct-horse"]) {
      assert.equal(passwordValue(v), true, v);
    }
  });
  it("refuses short values, masks, templates, references and placeholder words", () => {
    for (const v of [
      "abc",
      "****",
      "xxxxxx",
      "••••",
      "aaaa",
      "<redacted>",
      "[hidden]",
      "{{ pw }}",
      "${DB_PASSWORD}",
      "$DB_PASSWORD",
      "%DB_PASS%",
      "changeme",
      "CHANGEME",
      "incorrect.",
      "required",
      "null",
      "abc.",
    ]) {
      assert.equal(passwordValue(v), false, v);
    }
  });
});

describe("slackToken", () => {
  it("accepts tokens with a numeric id group", () => {
    assert.equal(slackToken("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"), true);
    assert.equal(
      slackToken("xoxp-123456789012-123456789012-123456789012-0123456789abcdef0123456789abcdef"),
      true,
    );
  });
  it("refuses prose and short or id-less bodies", () => {
    for (const t of [
      "xoxb-token-for-the-bot",
      "xoxb-12345",
      "xoxb-abcdefghijklmnop",
      "xoxz-123456789012-abc",
      "xoxb-12345-abcdefghij",
    ]) {
      assert.equal(slackToken(t), false, t);
    }
  });
});

describe("validators", () => {
  it("has a function for every validator name, and none accepts everything", () => {
    assert.deepEqual(Object.keys(validators).sort(), Object.values(ValidatorName).sort());
    assert.equal(validators.none("anything"), true);
    assert.equal(validators["payment-card"]("4111111111111111"), true);
    assert.equal(validators["payment-card"]("4111111111111112"), false);
  });
  it("never throw, whatever the input", () => {
    for (const validate of Object.values(validators)) {
      for (const input of ["", "\uD800", "😀😀😀😀", "-".repeat(100), " ", "X".repeat(18)]) validate(input);
    }
  });
});
