// The page's words through Cockpit's translations (cockpit.gettext of base1; none are shipped yet, so English).

/** A message in the session's language. */
export const _ = (message: string): string => cockpit.gettext(message);
