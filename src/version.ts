/** The daemon's version, reported on the bus as the Version property. */
export const VERSION = '0.1.0';
