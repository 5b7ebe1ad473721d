/** The sync tag both sides use unless told otherwise. */
export const DEFAULT_SYNC_TAG = 'closed-loop';
