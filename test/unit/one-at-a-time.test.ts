import { oneAtATime } from "../../local/main";

describe("local mode's scaler runs, one at a time", () => {
  it("runs each call after the previous one has ended", async () => {
    const order: string[] = [];
    const runs = oneAtATime(
      async (name: string) => {
        order.push(`${name} start`);
        await new Promise((resolve) => setTimeout(resolve, name === "a" ? 20 : 1));
        order.push(`${name} end`);
      },
      () => undefined,
    );
    await Promise.all([runs.run("a"), runs.run("b")]);
    expect(order).toEqual(["a start", "a end", "b start", "b end"]);
  });

  it("goes on after a failed run: the next runs still happen, and the failure is reported once", async () => {
    const ran: number[] = [];
    const errors: string[] = [];
    const runs = oneAtATime(
      async (n: number) => {
        ran.push(n);
        if (n === 1) throw new Error("throttled");
      },
      (error) => errors.push(error.message),
    );
    await runs.run(1);
    await runs.run(2);
    await runs.run(3);
    await runs.settled();
    expect(ran).toEqual([1, 2, 3]);
    expect(errors).toEqual(["throttled"]);
  });
});
