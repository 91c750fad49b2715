/** Polling with a deadline, whose timeout message says what was last observed: the launcher's, shared with `npm start`. */
export { done, pending, sleep, waitFor, WaitTimeoutError } from '../../../scripts/local/launcher';
export type { Poll, WaitOptions } from '../../../scripts/local/launcher';
