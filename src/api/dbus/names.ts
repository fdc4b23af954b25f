// The D-Bus names of the service, with no other import: what a client (the CLI, the Cockpit page's tests)
// needs to reach the daemon, without pulling in the daemon's core.

export const BUS_NAME = 'org.bootc.Storage';
export const STORAGE_PATH = '/org/bootc/Storage';
export const STORAGE_IFACE = 'org.bootc.Storage';
export const JOB_IFACE = 'org.bootc.Storage.Job';
/** Where each job is published: this prefix and its id in decimal (core/contract.ts builds the same). */
export const JOB_PATH_PREFIX = '/org/bootc/Storage/job/';
