/** A test drove the fake wrongly (unknown channel, user or event id); never carries a secret. */
export class FakeSlackError extends Error {
  override name = "FakeSlackError";
}
