import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  builtinDetectors,
  builtinDetectorTypes,
  compileDetectors,
  type BuiltinDetectorType,
} from "./index.ts";
import { cnResidentIdCheckChar } from "./validators.ts";

const detectors = compileDetectors(Object.values(builtinDetectors));

/** What a scan found, with the text each detection covers (tests only: the scanner never returns it). */
function found(text: string): { type: string; value: string; confidence: number }[] {
  return detectors
    .scan(text)
    .map((d) => ({ type: d.type, value: text.slice(d.start, d.end), confidence: d.confidence }));
}

interface Fires {
  text: string;
  /** The exact text the detection covers; it occurs once in `text`. */
  value: string;
  confidence: number;
}

const withCheck = (first17: string): string => first17 + cnResidentIdCheckChar(first17);
const ALNUM36 = "aB3dE5fG7hJ9kL1mN2pQ4rS6tU8vW0xY2zA4";
const PEM_BODY = "MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naBcD1234+/==";

const cases: Record<BuiltinDetectorType, { fires: Fires[]; silent: string[] }> = {
  "payment-card": {
    fires: [
      { text: "Card: 4111 1111 1111 1111, exp 12/25", value: "4111 1111 1111 1111", confidence: 0.99 },
      { text: "信用卡号：4111 1111 1111 1111", value: "4111 1111 1111 1111", confidence: 0.99 },
      { text: "卡号4111111111111111请", value: "4111111111111111", confidence: 0.99 },
      { text: "please charge 378282246310005 today", value: "378282246310005", confidence: 0.85 },
      { text: "5555-5555-5555-4444", value: "5555-5555-5555-4444", confidence: 0.85 },
      { text: "用这张6200000000000005银行卡", value: "6200000000000005", confidence: 0.99 },
      { text: "visa 4111 1111 1111 1111 123", value: "4111 1111 1111 1111", confidence: 0.99 },
      { text: "amex 3782 822463 10005", value: "3782 822463 10005", confidence: 0.99 },
      { text: "UnionPay 6205500000000000004 ok", value: "6205500000000000004", confidence: 0.85 },
    ],
    silent: [
      "card 4111111111111112",
      "卡号4111111111111112",
      "card 41111111111111112222",
      "card x4111111111111111",
      "card 4111111111111111x",
      "card 4111 1111-1111 1111",
      "Order #1234567890123",
      "1700000000000",
    ],
  },
  "cn-resident-id": {
    fires: [
      { text: "我的身份证号是11010519491231002X，请保密", value: "11010519491231002X", confidence: 0.99 },
      { text: "ID card: 11010519491231002x", value: "11010519491231002x", confidence: 0.99 },
      { text: "ref 11010519491231002X", value: "11010519491231002X", confidence: 0.9 },
      {
        text: `identity ${withCheck("44030420000229123")}.`,
        value: withCheck("44030420000229123"),
        confidence: 0.99,
      },
    ],
    silent: [
      "身份证号11010519491231002Y",
      `身份证号${withCheck("11010519990231001")}`,
      `身份证号${withCheck("99010519491231002")}`,
      "身份证号111010519491231002X",
      "ID A11010519491231002X",
    ],
  },
  iban: {
    fires: [
      {
        text: "IBAN GB82 WEST 1234 5698 7654 32 thanks",
        value: "GB82 WEST 1234 5698 7654 32",
        confidence: 0.99,
      },
      { text: "请汇款到账户DE89370400440532013000。", value: "DE89370400440532013000", confidence: 0.99 },
      { text: "send to NL91ABNA0417164300 pls", value: "NL91ABNA0417164300", confidence: 0.85 },
      { text: "BE68 5390 0754 7034 2024 invoice", value: "BE68 5390 0754 7034", confidence: 0.85 },
    ],
    silent: [
      "IBAN GB82 WEST 1234 5698 7654 33",
      "IBAN DE89370400440532013001",
      "IBAN XGB82WEST12345698765432",
    ],
  },
  "us-ssn": {
    fires: [
      { text: "SSN: 123-45-6789", value: "123-45-6789", confidence: 0.95 },
      { text: "社会安全号123-45-6789。", value: "123-45-6789", confidence: 0.95 },
      { text: "ref 123-45-6789", value: "123-45-6789", confidence: 0.7 },
    ],
    silent: [
      "SSN 000-12-3456",
      "SSN 666-12-3456",
      "SSN 912-12-3456",
      "SSN 123-00-6789",
      "SSN 123-45-0000",
      "SSN 1-123-45-6789",
      "SSN 123-45-6789-1",
      "call 555-123-4567",
    ],
  },
  "cn-passport": {
    fires: [
      { text: "护照号码：E12345678", value: "E12345678", confidence: 0.95 },
      { text: "my passport is G12345678.", value: "G12345678", confidence: 0.95 },
      { text: "护照EA1234567办好了", value: "EA1234567", confidence: 0.95 },
    ],
    silent: [
      "E12345678",
      "order E12345678 shipped",
      "护照号E1234567",
      "护照号XE12345678",
      "护照号E123456789",
    ],
  },
  "private-key": {
    fires: [
      {
        text: `key:\n-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n-----END RSA PRIVATE KEY-----\nthanks`,
        value: `-----BEGIN RSA PRIVATE KEY-----\n${PEM_BODY}\n-----END RSA PRIVATE KEY-----`,
        confidence: 0.99,
      },
      {
        text: `私钥如下-----BEGIN OPENSSH PRIVATE KEY-----\n${PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----请删除`,
        value: `-----BEGIN OPENSSH PRIVATE KEY-----\n${PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----`,
        confidence: 0.99,
      },
      {
        text: `-----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AB12\n\n${PEM_BODY}\n-----END ENCRYPTED PRIVATE KEY-----`,
        value: `-----BEGIN ENCRYPTED PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,AB12\n\n${PEM_BODY}\n-----END ENCRYPTED PRIVATE KEY-----`,
        confidence: 0.99,
      },
      {
        text: "truncated: -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk\n(rest cut)",
        value: "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk",
        confidence: 0.85,
      },
    ],
    silent: [
      `-----BEGIN PUBLIC KEY-----\n${PEM_BODY}\n-----END PUBLIC KEY-----`,
      "-----BEGIN PRIVATE KEY-----",
      "see the -----BEGIN PRIVATE KEY----- line in the docs",
    ],
  },
  "aws-access-key": {
    fires: [
      { text: "aws_access_key_id = AKIAIOSFODNN7EXAMPLE", value: "AKIAIOSFODNN7EXAMPLE", confidence: 0.99 },
      { text: "密钥AKIAIOSFODNN7EXAMPLE请删除", value: "AKIAIOSFODNN7EXAMPLE", confidence: 0.99 },
      { text: "temp creds ASIAY34FZKBOKMUTVV7A", value: "ASIAY34FZKBOKMUTVV7A", confidence: 0.95 },
    ],
    silent: [
      "AKIA",
      "AKIAIOSFODNN7EXAMPL",
      "xAKIAIOSFODNN7EXAMPLE",
      "AKIAIOSFODNN7EXAMPLE1",
      "AKIAIOSFODNN8EXAMPLE",
      "AKIAIOSFODNN7EXAMP0E",
    ],
  },
  "github-token": {
    fires: [
      { text: `token ghp_${ALNUM36}`, value: `ghp_${ALNUM36}`, confidence: 0.99 },
      { text: `令牌ghs_${ALNUM36}。`, value: `ghs_${ALNUM36}`, confidence: 0.99 },
      {
        text: `use github_pat_11ABCDEFG0123456789abc_${"x".repeat(59)} here`,
        value: `github_pat_11ABCDEFG0123456789abc_${"x".repeat(59)}`,
        confidence: 0.95,
      },
    ],
    silent: [
      "tokens start with ghp_ or xoxb-",
      `ghp_${ALNUM36.slice(1)}`,
      `xghp_${ALNUM36}`,
      `ghp_${ALNUM36}_x`,
      `ghx_${ALNUM36}`,
      "github_pat_short",
    ],
  },
  "slack-token": {
    fires: [
      {
        text: "slack bot token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        value: "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        confidence: 0.99,
      },
      {
        text: "令牌：xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789，别外传",
        value: "xoxp-1234567890-1234567890-1234567890-abcdef0123456789abcdef0123456789",
        confidence: 0.99,
      },
      {
        text: "use xoxa-2-1234567890-abcdefabcdef",
        value: "xoxa-2-1234567890-abcdefabcdef",
        confidence: 0.9,
      },
    ],
    silent: ["tokens start with ghp_ or xoxb-", "xoxb-token-for-the-bot", "axoxb-123456789012-abcdefgh"],
  },
  "stripe-live-key": {
    fires: [
      {
        text: `stripe key sk_live_${ALNUM36.slice(0, 24)}`,
        value: `sk_live_${ALNUM36.slice(0, 24)}`,
        confidence: 0.99,
      },
      { text: `密钥rk_live_${ALNUM36}。`, value: `rk_live_${ALNUM36}`, confidence: 0.99 },
      { text: `use sk_live_${ALNUM36}`, value: `sk_live_${ALNUM36}`, confidence: 0.95 },
    ],
    silent: [`sk_test_${ALNUM36}`, "sk_live_short", `ask_live_${ALNUM36}`, `sk_live_${ALNUM36.slice(0, 23)}`],
  },
  "password-assignment": {
    fires: [
      { text: "password: hunter22", value: "hunter22", confidence: 0.85 },
      { text: "login: bob password=Tr0ub4dor&3", value: "Tr0ub4dor&3", confidence: 0.95 },
      { text: "密码是abc123请保密", value: "abc123", confidence: 0.85 },
      { text: "我的密码：Passw0rd!，别外传", value: "Passw0rd!", confidence: 0.85 },
      { text: '{"password": "s3cret!"}', value: "s3cret!", confidence: 0.85 },
      { text: "PWD = abcd1234", value: "abcd1234", confidence: 0.85 },
      { text: "the password is hunter22", value: "hunter22", confidence: 0.85 },
      { text: "DB_PASSWORD=Xy7$kq91", value: "Xy7$kq91", confidence: 0.85 },
      { text: "密码为 Zq81!xx", value: "Zq81!xx", confidence: 0.85 },
    ],
    silent: [
      "reset your password",
      "password: ",
      "password:",
      "Password: ****",
      "password=<redacted>",
      "The password is incorrect.",
      "your password is too short",
      "密码是什么？",
      "passwords: many",
      "password_hash = abcdef",
      "pwd: xxxx",
      "DB_PASSWORD=${DB_PASSWORD}",
    ],
  },
  email: {
    fires: [
      { text: "mail alice@example.com.", value: "alice@example.com", confidence: 0.95 },
      { text: "邮箱alice@example.com，谢谢", value: "alice@example.com", confidence: 0.95 },
      {
        text: "ping bob.smith+x@corp.example.co.uk",
        value: "bob.smith+x@corp.example.co.uk",
        confidence: 0.9,
      },
    ],
    silent: ["alice@example", "@bob can you check", "user@localhost", "a..b@example"],
  },
  phone: {
    fires: [
      { text: "call +1 (415) 555-2671 now", value: "+1 (415) 555-2671", confidence: 0.85 },
      { text: "手机13800138000。", value: "13800138000", confidence: 0.85 },
      { text: "reach me at 138 0013 8000", value: "138 0013 8000", confidence: 0.6 },
      { text: "office +44 20 7946 0958", value: "+44 20 7946 0958", confidence: 0.6 },
    ],
    silent: [
      "SKU-13800138000",
      "型号X13800138000",
      "138001380001",
      "12800138000",
      "1380013800",
      "4111111111111111",
      "+1 234",
      "password: 13800138000",
    ],
  },
  "ip-address": {
    fires: [
      { text: "server 192.168.1.1.", value: "192.168.1.1", confidence: 0.9 },
      { text: "服务器10.0.0.1出问题了", value: "10.0.0.1", confidence: 0.9 },
      { text: "ping 2001:db8::ff00:42:8329 please", value: "2001:db8::ff00:42:8329", confidence: 0.7 },
      { text: "try ::1", value: "::1", confidence: 0.7 },
    ],
    silent: [
      "v1.2.3.4",
      "version 1.2.3",
      "10.0.19041.1",
      "256.1.1.1",
      "1.2.3.4.5",
      "at 12:30:45",
      "192.168.001.1",
    ],
  },
};

describe("built-in detectors", () => {
  it("lists every type once, in the table and in builtinDetectorTypes", () => {
    assert.deepEqual(Object.keys(builtinDetectors).sort(), [...builtinDetectorTypes].sort());
    assert.equal(new Set(builtinDetectorTypes).size, 14);
    for (const type of builtinDetectorTypes) assert.equal(builtinDetectors[type].type, type);
    assert.deepEqual(
      detectors.types,
      Object.values(builtinDetectors).map((d) => d.type),
    );
  });

  it("is frozen, so no caller can change the shared table", () => {
    assert.ok(Object.isFrozen(builtinDetectors));
    assert.ok(Object.isFrozen(builtinDetectors["payment-card"]));
    assert.ok(Object.isFrozen(builtinDetectors["payment-card"].keywords));
  });

  for (const type of builtinDetectorTypes) {
    describe(type, () => {
      for (const { text, value, confidence } of cases[type].fires) {
        it(`fires on ${JSON.stringify(text.slice(0, 70))}`, () => {
          const start = text.indexOf(value);
          assert.ok(start >= 0 && text.indexOf(value, start + 1) < 0, "the case's value occurs once");
          const hits = detectors.scan(text).filter((d) => d.type === type);
          assert.deepEqual(hits, [{ type, start, end: start + value.length, confidence }]);
        });
      }
      for (const text of cases[type].silent) {
        it(`is silent on ${JSON.stringify(text.slice(0, 70))}`, () => {
          assert.deepEqual(
            found(text).filter((d) => d.type === type),
            [],
          );
        });
      }
      it("compiles and fires on its own", () => {
        const alone = compileDetectors([builtinDetectors[type]]);
        const first = cases[type].fires[0];
        assert.ok(first);
        assert.equal(alone.scan(first.text).length, 1);
      });
    });
  }
});

describe("near misses", () => {
  const nothing = [
    "Order #1234567890123",
    "tracking 1Z999AA10123456784",
    "SF1234567890123 已发货",
    "created at 1700000000000",
    "ts=1700000000",
    "id 123e4567-e89b-12d3-a456-426614174000",
    "commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "please reset your password",
    "password: ",
    "tokens start with ghp_ or xoxb-",
    "AKIA",
    "upgrade to v1.2.3.4, version 1.2.3, build 10.0.19041.1, 2.4.1-beta",
    "SKU-13800138000 型号X13800138000 part 138001380001",
    "ISBN 978-3-16-148410-0",
    "pi is 3.14159265358979",
    "2024-01-15 12:30:45",
    "uptime 99.99%",
    "price $1,234,567.89",
    "MAC 00:1A:2B:3C:4D:5E",
    "明天上午十点开会，请大家准时参加，谢谢！",
    "",
  ];
  for (const text of nothing) {
    it(`nothing fires on ${JSON.stringify(text)}`, () => assert.deepEqual(found(text), []));
  }
});

describe("keywords", () => {
  const card = "4111 1111 1111 1111";
  it("raise confidence within the window on either side, case-insensitively", () => {
    assert.equal(detectors.scan(`CARD ${card}`)[0]?.confidence, 0.99);
    assert.equal(detectors.scan(`${card} is my Visa`)[0]?.confidence, 0.99);
    assert.equal(detectors.scan(`卡号${card}`)[0]?.confidence, 0.99);
  });
  it("do not count beyond the window", () => {
    const far = "card" + " ".repeat(60) + card + " ".repeat(60) + "visa";
    assert.equal(detectors.scan(far)[0]?.confidence, 0.85);
    const edge = "card" + " ".repeat(44) + card;
    assert.equal(detectors.scan(edge)[0]?.confidence, 0.99, "the keyword lies within 48 characters");
  });
  it("are required for passports: far from a keyword there is nothing", () => {
    assert.deepEqual(found("护照" + "。".repeat(60) + "E12345678"), []);
    assert.equal(found("护照" + "。".repeat(40) + "E12345678").length, 1);
  });
});

describe("overlaps", () => {
  it("drops a phone number inside a password value, and one overlapping a card number", () => {
    assert.deepEqual(
      found("password: 13800138000").map((d) => d.type),
      ["password-assignment"],
    );
    assert.deepEqual(
      found("+86 4111 1111 1111 1111").map((d) => d.type),
      ["payment-card"],
    );
  });
  it("keeps detections of different strong types that overlap", () => {
    // A Gansu (62) resident ID whose 18 digits also form a Luhn-valid UnionPay number.
    let id = "";
    for (let n = 0; n < 1000 && id === ""; n++) {
      const candidate = withCheck(
        `620102199001${String(10 + (n % 19)).padStart(2, "0")}${String(n).padStart(3, "0")}`,
      );
      if (/^\d{18}$/.test(candidate) && luhnValid(candidate)) id = candidate;
    }
    assert.notEqual(id, "");
    assert.deepEqual(
      found(`号码 ${id}`).map((d) => [d.type, d.value]),
      [
        ["cn-resident-id", id],
        ["payment-card", id],
      ],
    );
  });
  it("reports the whole text in order with several detections", () => {
    const text = "卡号4111111111111111，邮箱alice@example.com，服务器10.0.0.1，密码：hunter22";
    assert.deepEqual(
      found(text).map((d) => [d.type, d.value]),
      [
        ["payment-card", "4111111111111111"],
        ["email", "alice@example.com"],
        ["ip-address", "10.0.0.1"],
        ["password-assignment", "hunter22"],
      ],
    );
  });
});

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let v = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
    sum += v;
  }
  return sum % 10 === 0;
}
