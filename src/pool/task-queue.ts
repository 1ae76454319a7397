/**
 * The pool's queue of tasks waiting for a worker: FIFO, with tasks put back at
 * the front when a worker returns them (stolen back, or lost with its worker).
 *
 * Tasks of a cancelled job stay in the array and are skipped when reached, so
 * cancelling costs nothing per task; `live` counts only the tasks still wanted.
 * The array is consumed from `head` and compacted once more than half of it is
 * spent, so taking a task is O(1) amortized.
 */
import type { Job, Task } from "./job.ts";

export class TaskQueue {
  #tasks: Task[] = [];
  #head = 0;
  #live = 0;

  /** Queued tasks of jobs that still want results. */
  get live(): number {
    return this.#live;
  }

  push(task: Task): void {
    task.job.queued++;
    this.#live++;
    this.#tasks.push(task);
  }

  /** Puts a task back at the front (it goes next). */
  pushFront(task: Task): void {
    task.job.queued++;
    this.#live++;
    if (this.#head > 0) this.#tasks[--this.#head] = task;
    else this.#tasks.unshift(task);
  }

  /** Takes the next wanted task. */
  shift(): Task | undefined {
    while (this.#head < this.#tasks.length) {
      const task = this.#tasks[this.#head]!;
      this.#tasks[this.#head++] = undefined as unknown as Task;
      if (this.#head > 1024 && this.#head * 2 > this.#tasks.length) {
        this.#tasks = this.#tasks.slice(this.#head);
        this.#head = 0;
      }
      if (task.job.cancelled) continue;
      task.job.queued--;
      this.#live--;
      return task;
    }
    this.#tasks.length = 0;
    this.#head = 0;
    return undefined;
  }

  /** The next wanted task, left in place. */
  peek(): Task | undefined {
    while (this.#head < this.#tasks.length) {
      const task = this.#tasks[this.#head]!;
      if (!task.job.cancelled) return task;
      this.#tasks[this.#head++] = undefined as unknown as Task;
    }
    return undefined;
  }

  /** Stops counting a cancelled job's queued tasks (they are skipped when reached). */
  forget(job: Job): void {
    this.#live -= job.queued;
    job.queued = 0;
  }

  clear(): void {
    this.#tasks = [];
    this.#head = 0;
    this.#live = 0;
  }
}
