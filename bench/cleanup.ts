/** Things to stop at the end of a run, stopped in reverse order whatever happened. */
export class Cleanup {
  readonly #steps: { name: string; run: () => Promise<void> | void }[] = [];

  add(name: string, run: () => Promise<void> | void): void {
    this.#steps.push({ name, run });
  }

  async run(): Promise<string[]> {
    const failures: string[] = [];
    for (const step of this.#steps.reverse()) {
      try {
        await step.run();
      } catch (err) {
        failures.push(`${step.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    this.#steps.length = 0;
    return failures;
  }
}
