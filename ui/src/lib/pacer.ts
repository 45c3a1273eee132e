// When the run views are drawn again. WebKitGTK repaints the window for any
// change on the page, at about the same cost whatever changed, so a run's
// clock, its events and its log are drawn together.

/**
 * Calls `draw` at most once every `every` milliseconds while things change,
 * and every `every` milliseconds while `ticking()` says a clock is running.
 * The first change after a quiet spell, and a change marked urgent (rows
 * the user scrolled to), are drawn at the next frame.
 */
export class Pacer {
  private dirty = false;
  private last = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private framed = false;

  constructor(
    private readonly draw: () => void,
    private readonly ticking: () => boolean,
    private readonly every = 100,
    private readonly now: () => number = () => performance.now(),
    private readonly frame: (f: () => void) => void = (f) => requestAnimationFrame(() => f()),
  ) {}

  /** Something shown changed; `urgent` when the user is waiting for it. */
  changed(urgent = false): void {
    this.dirty = true;
    if (urgent) this.nextFrame();
    else this.schedule();
  }

  /** Starts the clock (a run began): draws now and every `every` ms while `ticking()`. */
  tick(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.framed) return;
    const wait = this.last + this.every - this.now();
    if (wait <= 0) {
      this.nextFrame();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.nextFrame();
    }, wait);
  }

  private nextFrame(): void {
    if (this.framed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.framed = true;
    this.frame(() => this.flush());
  }

  private flush(): void {
    this.framed = false;
    const ticking = this.ticking();
    if (this.dirty || ticking) {
      this.dirty = false;
      this.last = this.now();
      this.draw();
    }
    if (ticking) this.schedule();
  }
}
