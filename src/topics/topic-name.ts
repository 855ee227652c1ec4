import { InvalidTopicNameError } from "../errors.ts";

/** Topic names become directory names, so only this conservative set is allowed. */
const TOPIC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isValidTopicName(name: unknown): name is string {
  return typeof name === "string" && TOPIC_NAME.test(name) && name !== "." && name !== "..";
}

export function assertTopicName(name: unknown): asserts name is string {
  if (!isValidTopicName(name)) throw new InvalidTopicNameError();
}
