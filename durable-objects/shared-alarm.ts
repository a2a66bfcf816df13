/**
 * A Durable Object has one alarm; the concerns of an object (call leases, the send schedule …)
 * share it. Each asks for the time it needs; the earliest request wins, and when the alarm fires
 * every concern handles what is due and asks again for its own next time. The time set is kept in
 * memory (this is its only setter), so a hot path needs no storage read to know whether to re-arm.
 */
export class SharedAlarm {
  private armedAt: number | null | undefined;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Makes sure the alarm fires no later than `atMs`. */
  async armAt(atMs: number): Promise<void> {
    if (this.armedAt === undefined) this.armedAt = await this.storage.getAlarm();
    if (this.armedAt === null || atMs < this.armedAt) {
      this.armedAt = atMs;
      await this.storage.setAlarm(atMs);
    }
  }

  /** Would an alarm at `atMs` be later than the one set (so asking for it would change nothing)? */
  coversBy(atMs: number): boolean {
    return this.armedAt !== null && this.armedAt !== undefined && this.armedAt <= atMs;
  }

  /** The alarm fired: nothing is set until a concern asks again. */
  fired(): void {
    this.armedAt = null;
  }
}
