/**
 * Follow-up steps: what a use case does after the change it exists for (protecting the node that
 * just got a slot, asking for a scale-out, letting a launch continue). The change stands whatever
 * becomes of them: a failure is returned for the caller to log, never thrown, and the scaler's
 * next run repeats the step.
 */

/** The part of a use case's outcome that reports its follow-up steps. */
export interface FollowUps {
  /** Follow-up steps that failed; the call itself succeeded. */
  readonly followUpErrors: readonly Error[];
}

/** Runs the steps in order; each failure is kept and the next step still runs. */
export async function followUp(...steps: readonly (() => Promise<unknown>)[]): Promise<Error[]> {
  const errors: Error[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      errors.push(error as Error);
    }
  }
  return errors;
}
