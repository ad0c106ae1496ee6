// What a page's buttons share: an action whose failure is said in the
// page's message line, and a delete that asks for a second click.

import { fill } from "./dom.js";

/** `act(work)`: clear `message`, run `work`, and say there why it failed. */
export function actor(message, failed) {
  return async (work) => {
    fill(message, "");
    try {
      await work();
    } catch (error) {
      failed(error, message);
    }
  };
}

/** A click handler that arms its button on the first click ("Delete:
 * sure?") and runs `work` through `act` on the second. */
export function twice(act, work) {
  return (event) => {
    const button = event.currentTarget;
    if (!button.dataset.armed) {
      button.dataset.armed = "1";
      button.textContent = `${button.textContent}: sure?`;
      return;
    }
    act(work);
  };
}
