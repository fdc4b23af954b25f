// The polkit actions of the project. Which method checks which is part of each method's entry in the
// operations table (src/core/operations.ts); a method without an entry does not exist, so it is denied.

export const ACTION_READ = 'org.bootc.storage.read';
export const ACTION_PULL = 'org.bootc.storage.pull';
export const ACTION_REMOVE = 'org.bootc.storage.remove';
export const ACTION_CANCEL_FOREIGN = 'org.bootc.storage.cancel-foreign';

/** Every action the project's polkit policy must define. */
export const ALL_ACTIONS = [ACTION_READ, ACTION_PULL, ACTION_REMOVE, ACTION_CANCEL_FOREIGN] as const;
export type ActionId = (typeof ALL_ACTIONS)[number];

/**
 * What each API method needs. `owner-or-cancel-foreign`: the job's owner may cancel it; anyone else needs
 * ACTION_CANCEL_FOREIGN. `none`: the method discloses nothing that the broadcast signals do not already.
 */
export type MethodPolicy = { action: ActionId } | { ownerOr: ActionId } | { none: true };
