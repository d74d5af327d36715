import { ProcmanError } from "../errors.js";
import type { Plan } from "../plan/plan.js";

/** A process did not start or become ready; what the switch changed was undone. Exit 1. */
export class SwitchFailedError extends ProcmanError {
  constructor(message: string) {
    super("ESWITCH", message, 1);
  }
}

export interface SwitchResult {
  readonly plan: Plan;
  readonly generation: number | undefined;
}
