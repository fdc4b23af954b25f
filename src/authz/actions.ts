// The one method → polkit action table for every transport. A method without an entry is denied.

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

export const METHOD_POLICY: Readonly<Record<string, MethodPolicy>> = {
  Exists: { action: ACTION_READ },
  List: { action: ACTION_READ },
  ListJobs: { action: ACTION_READ },
  Pull: { action: ACTION_PULL },
  PullFromHost: { action: ACTION_PULL },
  Remove: { action: ACTION_REMOVE },
  Prune: { action: ACTION_REMOVE },
  GarbageCollect: { action: ACTION_REMOVE },
  CancelJob: { ownerOr: ACTION_CANCEL_FOREIGN },
  Cancel: { ownerOr: ACTION_CANCEL_FOREIGN },
};

/** The policy for a method; undefined means deny. */
export function lookupMethodPolicy(method: string): MethodPolicy | undefined {
  return Object.hasOwn(METHOD_POLICY, method) ? METHOD_POLICY[method] : undefined;
}
